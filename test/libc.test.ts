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

// In a child Node: sys/children reaps every child of its process, which would
// take the statuses of the test runner's own children.
const childrenJs = path.join(root, 'build/src/sys/children.js');

describe('libc.spawn and sys/children', () => {
  it('starts the program in cwd with stdio, default signals, an empty mask and Node\'s fds closed', () => {
    const script = 'echo $$ $PPID; pwd; while read -r l; do case $l in SigIgn*|SigBlk*) echo "$l";; esac; done </proc/$$/status; ' +
      'cd /proc/$$/fd && echo *; read x; echo "in:$x" >&2';
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', `
      import * as C from ${JSON.stringify(childrenJs)};
      const pid = C.start('/bin/sh', ['sh', '-c', ${JSON.stringify(script)}], { cwd: '/etc', dup: [[0, 0], [1, 1], [2, 2]] },
        (code, sig, status) => console.log('exit', pid, code, sig, status));`],
    { encoding: 'utf8', input: 'hello\n' });
    assert.equal(r.status, 0, r.stderr);
    const [ids, cwd, blk, ign, fds, exit] = r.stdout.trim().split('\n');
    const [pid, ppid] = ids!.split(' ').map(Number);
    assert.equal(ppid, r.pid, 'a child of the Node that started it');
    assert.equal(cwd, '/etc');
    assert.match(blk!, /^SigBlk:\s+0+$/);
    assert.match(ign!, /^SigIgn:\s+0+$/, 'SIGPIPE and SIGXFSZ not ignored');
    // what any child of this test gets anyway (and the glob's own fd)
    const base = spawnSync('/bin/sh', ['-c', 'cd /proc/$$/fd && echo *'], { encoding: 'utf8' }).stdout.trim();
    assert.equal(fds, base, 'nothing of Node\'s');
    assert.equal(r.stderr, 'in:hello\n');
    assert.equal(exit, `exit ${pid} 0 0 0`);
  });

  it('dup2s a pipe onto stdout and starts a new session', () => {
    const r = node(`
      import fs from 'node:fs';
      const C = await import(${JSON.stringify(childrenJs)});
      const [rd, wr] = L.pipe();
      C.start('/bin/sh', ['sh', '-c', 'echo $$ $(ps -o sid= -p $$)'], { cwd: '/', dup: [[0, 0], [wr, 1], [2, 2]], newSession: true },
        () => { fs.closeSync(wr); const b = Buffer.alloc(100); console.log('piped', b.subarray(0, fs.readSync(rd, b)).toString().trim()); });`);
    assert.equal(r.code, 0, r.err);
    const m = /^piped (\d+) +(\d+)$/.exec(r.out.trim());
    assert.ok(m, r.out);
    assert.equal(m[1], m[2], 'the child leads its own session');
  });

  it('reports exit codes, signals and core dumps in the raw status', () => {
    const r = node(`
      const C = await import(${JSON.stringify(childrenJs)});
      const report = (what) => (code, sig, status) => console.log(what, code, sig, status & 0xff);
      C.start('/bin/sh', ['sh', '-c', 'exit 7'], { cwd: '/' }, report('exit'));
      C.start('/bin/sh', ['sh', '-c', 'kill -TERM $$'], { cwd: '/' }, report('term'));
      C.start('/bin/sh', ['sh', '-c', 'ulimit -c 0; kill -QUIT $$'], { cwd: '/tmp' }, report('quit'));`);
    assert.equal(r.code, 0, r.err);
    assert.deepEqual(r.out.trim().split('\n').sort(), ['exit 7 0 0', 'quit null 3 3', 'term null 15 15']);
  });

  it('calls back in the context the child was started in, each on its own', () => {
    const r = node(`
      import { AsyncLocalStorage } from 'node:async_hooks';
      const C = await import(${JSON.stringify(childrenJs)});
      const als = new AsyncLocalStorage();
      process.on('uncaughtException', (e) => console.log('fault in', als.getStore(), e.message));
      // the first start arms the SIGCHLD listener, in the first context
      for (const name of ['a', 'b', 'c']) {
        als.run(name, () => C.start('/bin/sh', ['sh', '-c', 'exit 0'], { cwd: '/' }, () => {
          if (name === 'b') throw new Error('boom');
          console.log('exit in', als.getStore());
        }));
      }`);
    assert.equal(r.code, 0, r.err);
    assert.deepEqual(r.out.trim().split('\n').sort(), ['exit in a', 'exit in c', 'fault in b boom']);
  });

  it('throws the exec error, and reaps children nobody watches (no zombie)', () => {
    const r = node(`
      const C = await import(${JSON.stringify(childrenJs)});
      const noShebang = fs.mkdtempSync('/tmp/libc-test-') + '/script';
      fs.writeFileSync(noShebang, 'echo hi\\n', { mode: 0o755 }); // no #!: no /bin/sh fallback
      for (const [file, cwd] of [['/nonexistent', '/'], ['/etc/passwd', '/'], [noShebang, '/'], ['/bin/true', '/nonexistent']]) {
        try { C.start(file, [file], { cwd }, () => {}); } catch (e) { console.log(e.code); }
      }
      const pid = C.start('/bin/true', ['true'], { cwd: '/' }, () => console.log('never'));
      C.forget(pid);
      // another child's end wakes the reaper, which takes both
      C.start('/bin/sh', ['sh', '-c', 'sleep 0.2'], { cwd: '/' }, () => {
        let zombie = true;
        try { zombie = fs.readFileSync('/proc/' + pid + '/stat', 'utf8').split(') ')[1][0] === 'Z'; } catch { zombie = false; }
        console.log('zombie', zombie);
        fs.rmSync(noShebang.slice(0, -'/script'.length), { recursive: true });
      });
      import fs from 'node:fs';`);
    assert.equal(r.code, 0, r.err);
    assert.equal(r.out, 'ENOENT\nEACCES\nENOEXEC\nENOENT\nzombie false\n');
  });
});
