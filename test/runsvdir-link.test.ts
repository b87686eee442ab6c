// runsvdir's link to its supervision host (src/runsvdir/link.ts): started with
// posix_spawn, told everything on fd 3, and never blocked by a host that does
// not read. Its own file: sys/children.ts reaps every child of the process.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { HostLink } from '../src/runsvdir/link.js';
import { Lines, type Message } from '../src/runsvdir/protocol.js';
import type { Services } from '../src/runsvdir/scan.js';
import { alive, tmpdir, until } from './helpers.js';

/** A host that reads nothing until `out.go` exists, then copies fd 3 into `out`. */
function fakeHost(dir: string): string {
  const file = path.join(dir, 'host.cjs');
  fs.writeFileSync(file, `
const fs = require('fs');
const out = process.env.FAKE_HOST_OUT;
const t = setInterval(() => {
  if (!fs.existsSync(out + '.go')) return;
  clearInterval(t);
  fs.createReadStream(null, { fd: 3 }).pipe(fs.createWriteStream(out));
}, 20);
`);
  return file;
}

describe('runsvdir host link', () => {
  it('queues what a host does not read yet, and it all arrives, in order (HUP last, waited for)', async () => {
    const dir = tmpdir();
    const out = path.join(dir, 'out');
    process.env.FAKE_HOST_OUT = out;
    const services: Services = new Map([['1:1', 'first']]);
    const warnings: string[] = [];
    const link = new HostLink({
      program: fakeHost(dir), newSession: false, dir: '/srv', shownDir: '/srv', services, stderr: null,
      warn: (text) => warnings.push(text),
    });
    link.ensure();
    const pid = link.pid!;
    assert.ok(pid > 0 && alive(pid), 'the host was started');
    // Well over the pipe's 1 MB, in one tick: most of it must wait.
    const N = 30000;
    for (let i = 0; i < N; i++) link.add([[`2:${i}`, `service-${i}`]]);
    fs.writeFileSync(out + '.go', '');
    // runsvdir exits right after a HUP: everything, HUP last, must be in the pipe by then.
    link.hup();
    assert.equal((link as unknown as { queued: Buffer[] }).queued.length, 0, 'all of it is in the pipe when hup() returns');
    const expected = 1 + N + 1;
    let got: Message[] = [];
    await until('every message arrived', () => {
      got = new Lines().push(fs.readFileSync(out));
      return got.length >= expected;
    }, 30000);
    assert.equal(got.length, expected);
    assert.deepEqual(got[0], { add: '1:1', name: 'first', path: '/srv/first' });
    for (let i = 0; i < N; i++) assert.deepEqual(got[1 + i], { add: `2:${i}`, name: `service-${i}`, path: `/srv/service-${i}` });
    assert.deepEqual(got[1 + N], { hup: true });
    assert.deepEqual(warnings, []);
    // Nothing left to supervise: the host is not started again once it is gone.
    services.clear();
    process.kill(pid, 'SIGKILL');
    await until('the link saw the host end', () => link.pid === undefined);
    assert.ok(!alive(pid), 'and it was reaped');
  });
});
