// README's five-minute tour, pasted as a user would: every line must work, in
// order, with no pause but the waits the tour itself has (runsv needs Node's
// start-up before sv can talk to it).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { descendants, read, reap, root, tmpdir } from './helpers.js';

/** The tour's shell lines: the indented block of its section. */
function tour(): string[] {
  const text = fs.readFileSync(path.join(root, 'README.md'), 'utf8');
  const section = text.slice(text.indexOf('## A five-minute tour'), text.indexOf('`npm start` does the same'));
  return section.split('\n').filter((l) => l.startsWith('    ')).map((l) => l.slice(4));
}

describe('README', () => {
  it('the five-minute tour works pasted line by line', () => {
    const base = tmpdir('tour-');
    const pidFile = path.join(base, 'runsv.pid');
    const lines = tour().map((l) => l.split('/tmp/tour').join(path.join(base, 'tour')));
    const at = lines.findIndex((l) => /^runsv .*&/.test(l));
    assert.ok(at > 0, 'the tour starts runsv in the background');
    lines.splice(at + 1, 0, `echo $! > ${pidFile}`); // to clean up after a failure
    const r = spawnSync('bash', ['-e', '-c', lines.join('\n')], { cwd: root, encoding: 'utf8', timeout: 60000 });
    const pid = Number(read(pidFile)) || 0;
    const svc = path.join(base, 'tour/hello');
    try {
      assert.equal(r.status, 0, `the tour stopped: ${r.stdout}${r.stderr}`);
      const out = r.stdout.split(svc).join('SVC');
      assert.match(out, /^run: SVC: \(pid \d+\) \d+s; run: log: \(pid \d+\) \d+s$/m);
      assert.match(out, /^\d{4}-\d\d-\d\d_\d\d:\d\d:\d\d\.\d{5} hello from \d+$/m);
      assert.match(out, /^ok: down: SVC: \d+s, normally up$/m);
      assert.match(out, /^ok: run: SVC: \(pid \d+\) \d+s$/m);
      assert.equal(r.stderr, '');
    } finally {
      // runsv, if the tour did not get to `sv exit` (and the pid is still it)
      if (pid && read(`/proc/${pid}/cmdline`).includes(svc)) reap([...descendants(pid), pid]);
    }
  });
});
