// runsvdir's launcher (libexec/runsvdir-start, src/runsvdir/start.s): bin/runsvdir
// starts the supervision host beside runsvdir's own Node. The host is
// runsvdir's child, joined to it by the channel on both fds 3, its table
// made large before its exec, its stderr runsvdir's own without a log; an
// early host with nothing to supervise is let go; and fds the caller left
// open on 3 and 4 are replaced, not written to.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { bin, childrenOf, root, script, tmpdir, until } from './helpers.js';
import { cleanup, cleanupAll, hosts, isRunning, runsvdir, state, tree, type Dir } from './runsvdir-fixtures.js';

after(cleanupAll);

const program = bin('runsvdir');
const launcher = path.join(root, 'libexec/runsvdir-start');
const skip = fs.existsSync(launcher) ? false : 'no launcher for this machine (x86-64 only): runsvdir starts its host itself';

const field = (pid: number, name: string): string => new RegExp(`^${name}:\\s*(\\S+)`, 'm').exec(fs.readFileSync(`/proc/${pid}/status`, 'latin1'))![1]!;
const fdsOf = (pid: number): Map<number, string> => new Map(fs.readdirSync(`/proc/${pid}/fd`).map((fd) => {
  let to = '';
  try { to = fs.readlinkSync(`/proc/${pid}/fd/${fd}`); } catch { /* closed meanwhile */ }
  return [Number(fd), to] as const;
}));
/** The one host under runsvdir, once there is one. */
async function hostOf(d: Dir): Promise<number> {
  await until('a host runs', () => hosts(d).length === 1);
  return hosts(d)[0]!;
}

describe('runsvdir-start', () => {
  it('is the very machine code start.s assembles to (when binutils is installed)', { skip }, (t) => {
    const out = tmpdir('start-');
    try {
      execFileSync('as', ['-o', path.join(out, 'o'), path.join(root, 'src/runsvdir/start.s')], { stdio: 'ignore' });
      execFileSync('objcopy', ['-O', 'binary', '-j', '.text', path.join(out, 'o'), path.join(out, 'bin')], { stdio: 'ignore' });
    } catch {
      t.skip('as and objcopy not installed (apt-get install binutils)');
      return;
    }
    // after the ELF header and two program headers (scripts/elf.mjs)
    const code = fs.readFileSync(launcher).subarray(64 + 2 * 56);
    assert.ok(fs.readFileSync(path.join(out, 'bin')).equals(code), 'libexec/runsvdir-start runs what start.s assembles to (scripts/start.mjs)');
  });

  it('starts the host as runsvdir\'s child, joined on fd 3, its table made large, its stderr runsvdir\'s', { skip }, async () => {
    const dir = tree(['a']);
    script(path.join(dir, 'a/run'), 'echo to-stderr >&2\nexec sleep 1000');
    // a warning the host writes: it reaches runsvdir's stderr (no log)
    fs.mkdirSync(path.join(dir, 'c'));
    fs.writeFileSync(path.join(dir, 'c/log'), 'not a directory');
    script(path.join(dir, 'c/run'), 'exec sleep 1000');
    // a soft fd limit under the launcher's table: it is raised for the host (Node raises it anyway)
    const d = runsvdir('/bin/sh', ['-c', 'ulimit -Sn 1024 && exec "$0" "$@"', program, dir], dir);
    try {
      const host = await hostOf(d);
      await until('a and c run', () => isRunning(path.join(dir, 'a')) && isRunning(path.join(dir, 'c')));
      assert.equal(Number(field(host, 'PPid')), d.pid, 'the host is runsvdir\'s child');
      assert.ok(Number(field(host, 'FDSize')) >= 2048, `FDSize ${field(host, 'FDSize')}`);
      const mine = fdsOf(d.pid);
      const theirs = fdsOf(host);
      assert.match(mine.get(3) ?? '', /^pipe:/, 'runsvdir\'s fd 3 is the channel');
      assert.equal(theirs.get(3), mine.get(3), 'the same pipe on both fds 3');
      assert.equal(theirs.get(2), mine.get(2), 'the host\'s stderr is runsvdir\'s');
      // (fd numbers are given again: 2047 may hold something else since)
      assert.notEqual(theirs.get(2047), mine.get(3), 'the host does not keep the fd that sized its table');
      await until('the host\'s warning on runsvdir\'s stderr', () => d.stderr().includes('runsv c: warning: ./log: not a directory.'));
      await until('a\'s stderr too', () => d.stderr().includes('to-stderr'));
      // the launcher's host supervises as any: it dies, runsvdir starts another
      process.kill(host, 'SIGKILL');
      await until('another host', () => hosts(d).length === 1 && hosts(d)[0] !== host, 20000);
      const next = hosts(d)[0]!;
      const lock = fs.realpathSync(path.join(dir, 'a/supervise/lock'));
      await until('the new host supervises a', () => [...fdsOf(next).values()].includes(lock) && isRunning(path.join(dir, 'a')), 20000);
    } finally {
      await cleanup(d);
    }
  });

  it('lets the host go when there is nothing to supervise, and starts one when there is', { skip }, async () => {
    const dir = tmpdir('start-empty-');
    const d = runsvdir(program, [dir], dir);
    try {
      await hostOf(d); // the launcher's
      // let go once runsvdir has found nothing: it ends, and is reaped (a zombie is still a child)
      await until('no child left under runsvdir', () => {
        try { return childrenOf(d.pid).length === 0; } catch { return false; }
      });
      script(path.join(dir, 'late/run'), 'exec sleep 1000');
      await until('late runs under a host started for it', () => isRunning(path.join(dir, 'late')) && hosts(d).length === 1, 20000);
    } finally {
      await cleanup(d);
    }
  });

  it('takes fds 3 and 4 for its pipes when the caller left some there', { skip }, async () => {
    const dir = tree(['a']);
    const f3 = path.join(dir, '..', 'three');
    const f4 = path.join(dir, '..', 'four');
    const a = fs.openSync(f3, 'w');
    const b = fs.openSync(f4, 'w');
    const child = spawn(program, [dir], { stdio: ['ignore', 'ignore', 'pipe', a, b] });
    fs.closeSync(a);
    fs.closeSync(b);
    let err = '';
    child.stderr!.on('data', (x: Buffer) => { err += x.toString(); });
    const d: Dir = { child, pid: child.pid!, dir, stderr: () => err, exited: new Promise((r) => child.on('exit', (code) => r(code))), seen: new Map() };
    try {
      await until('a runs', () => isRunning(path.join(dir, 'a')));
      const host = await hostOf(d);
      assert.match(fdsOf(host).get(3) ?? '', /^pipe:/, 'the host\'s channel');
      assert.equal(fdsOf(host).get(3), fdsOf(d.pid).get(3), 'joined to runsvdir\'s');
      assert.equal(fs.readFileSync(f3, 'utf8'), '', 'nothing was written to the caller\'s fd 3');
      const svc = state(path.join(dir, 'a'))!.pid;
      for (const p of [d.pid, host, svc]) {
        const held = [...fdsOf(p).values()];
        assert.ok(!held.includes(fs.realpathSync(f3)) && !held.includes(fs.realpathSync(f4)), `pid ${p} holds none of the caller's fds 3 and 4`);
      }
    } finally {
      await cleanup(d);
    }
  });
});
