// runsvdir's readproctitle log (src/runsvdir/proctitle.ts), over the clock:
// the window keeps the newest bytes, and a dot every fifteen minutes pushes
// old messages out (man runsvdir). Timers are mocked: nobody waits 15 minutes.
import assert from 'node:assert/strict';
import { describe, it, mock } from 'node:test';
import { TitleLog } from '../src/runsvdir/proctitle.js';

describe('runsvdir log in the process title', () => {
  it('keeps the first five bytes, shows the newest, and adds a dot every 15 minutes', () => {
    mock.timers.enable({ apis: ['setInterval'] });
    const saved = process.title;
    try {
      const log = '.'.repeat(20);
      const title = (): string => process.title.slice(process.title.lastIndexOf(' ') + 1);
      new TitleLog(['runsvdir', '/service', log], 'node').write(Buffer.from('hello:warning'));
      assert.ok(process.title.startsWith('runsvdir /service '), process.title);
      const dots = (n: number): string => '.'.repeat(n);
      assert.equal(title(), dots(7) + 'hello:warning', 'the log argument, its newest 15 bytes the message');
      assert.equal(title().length, log.length, 'the log never changes length');
      mock.timers.tick(15 * 60 * 1000 - 1);
      assert.equal(title(), dots(7) + 'hello:warning');
      mock.timers.tick(1);
      assert.equal(title(), dots(6) + 'hello:warning.');
      mock.timers.tick(15 * 60 * 1000 * 13);
      assert.equal(title(), dots(5) + 'g' + dots(14), 'the message has scrolled away but for the five bytes kept');
    } finally {
      mock.timers.reset();
      process.title = saved;
    }
  });
});
