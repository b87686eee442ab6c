// The libc bindings Node lacks (src/sys/libc.ts), exercised in child Node
// processes where they would disturb the test runner (execve replaces the
// process) and directly where they do not.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, it } from 'node:test';
import { getgrnam, getpwnam, SysError } from '../src/sys/libc.js';
import { root } from './helpers.js';

const libc = path.join(root, 'build/src/sys/libc.js');

/** Run an ES module body in a fresh Node with libc.js imported as L. */
function node(body: string, opts: { env?: NodeJS.ProcessEnv } = {}): { out: string; err: string; code: number | null; pid: number } {
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', `import * as L from ${JSON.stringify(libc)};\n${body}`],
    { encoding: 'utf8', env: opts.env ?? process.env });
  return { out: r.stdout, err: r.stderr, code: r.status, pid: r.pid ?? 0 };
}

describe('libc.execve', () => {
  it('replaces the process: same pid, stdio open, no signal ignored or blocked', () => {
    // builtins only in the shell, so it reads its own state and does not fork
    const script = 'echo $$; while read -r l; do case $l in SigIgn*|SigBlk*) echo "$l";; esac; done </proc/$$/status; read x; echo "in:$x"';
    const r = spawnSync(process.execPath, ['--input-type=module', '-e',
      `import * as L from ${JSON.stringify(libc)}; L.execve('/bin/sh', ['sh', '-c', ${JSON.stringify(script)}], process.env);`],
    { encoding: 'utf8', input: 'hello\n' });
    assert.equal(r.status, 0, r.stderr);
    const [pid, blk, ign, input] = r.stdout.trim().split('\n');
    assert.equal(Number(pid), r.pid, 'the program has the pid Node had');
    assert.match(blk!, /^SigBlk:\s+0+$/);
    assert.match(ign!, /^SigIgn:\s+0+$/, 'SIGPIPE and SIGXFSZ no longer ignored');
    assert.equal(input, 'in:hello');
  });

  it('keeps the fds it is told to, and closes Node\'s own', () => {
    const r = node(`
      import fs from 'node:fs';
      const fd = fs.openSync('/etc/hostname', 'r');
      L.execve('/bin/sh', ['sh', '-c', 'cd /proc/$$/fd && echo *; readlink ' + fd], process.env, [0, 1, 2, fd]);`);
    assert.equal(r.code, 0, r.err);
    const [fds, link] = r.out.trim().split('\n');
    // what any child of this test gets anyway (and the glob's own fd)
    const base = spawnSync('/bin/sh', ['-c', 'cd /proc/$$/fd && echo *'], { encoding: 'utf8' }).stdout.trim().split(' ');
    const extra = fds!.split(' ').filter((f) => !base.includes(f));
    assert.equal(extra.length, 1, `only the kept fd beyond the usual: ${fds} (usual: ${base.join(' ')})`);
    assert.equal(link, '/etc/hostname');
  });

  it('passes Buffers byte for byte', () => {
    const r = node(`
      const arg = Buffer.from([0x61, 0xff, 0x62, 0]);
      L.execve(Buffer.from('/bin/sh\\0'), ['sh', '-c', 'printf %s "$1$E" | od -An -tx1', 'sh', arg], [Buffer.from('E=\\xfe\\0', 'latin1')]);`);
    assert.equal(r.code, 0, r.err);
    assert.equal(r.out.replace(/\s+/g, ' ').trim(), '61 ff 62 fe');
  });

  it('throws a SysError and returns when the exec fails', () => {
    const r = node(`
      try { L.execve('/nonexistent/prog', ['prog'], process.env); }
      catch (e) { console.log(e.constructor.name, e.code, e.message); }`);
    assert.equal(r.code, 0, r.err);
    assert.equal(r.out, 'SysError ENOENT execve: file does not exist\n');
  });
});

describe('libc.getpwnam / getgrnam', () => {
  it('finds nobody and nogroup, and says null for unknown names', () => {
    assert.deepEqual(getpwnam('nobody'), { uid: 65534, gid: 65534 });
    assert.deepEqual(getpwnam('root'), { uid: 0, gid: 0 });
    assert.equal(getpwnam('no-such-user-here'), null);
    assert.equal(getgrnam('nogroup'), 65534);
    assert.equal(getgrnam('root'), 0);
    assert.equal(getgrnam('no-such-group-here'), null);
    assert.ok(new SysError('x', 'EPERM', 1).message.endsWith('permission denied'));
  });
});
