// Children started without waiting for their exec (src/sys/unwaited.ts),
// through children.ts as the host starts them while it brings up a tree.
// This file uses no node:child_process: children.ts reaps every child.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import * as children from '../src/sys/children.js';
import * as clone from '../src/sys/clonespawn.js';
import { pipe } from '../src/sys/libc.js';
import * as unwaited from '../src/sys/unwaited.js';
import { script, tmpdir, until } from './helpers.js';

const skip = process.arch === 'x64' && process.platform === 'linux' ? false : 'the routine is x86-64 Linux only';
const started: number[] = [];
after(() => {
  children.startUnwaited(false);
  for (const p of started) try { process.kill(p, 'SIGKILL'); } catch { /* gone */ }
});

interface Ended { code: number | null; sig: number; failed?: Error }

/** startAsync, as Service does: the pid (or the error) and then the exit. */
function start(file: string, cwd: string): Promise<{ pid: number; ended: Promise<Ended> }> {
  return startWith(file, [file], cwd, [[0, 0], [1, 1], [2, 2]]);
}

function startWith(file: string, argv: string[], cwd: string, dup: [number, number][],
  env?: NodeJS.ProcessEnv): Promise<{ pid: number; ended: Promise<Ended> }> {
  return new Promise((resolve, reject) => {
    let end!: (e: Ended) => void;
    const ended = new Promise<Ended>((r) => { end = r; });
    children.startAsync(file, argv, { cwd, dup, env }, (err, pid) => {
      if (err) { reject(err); return; }
      started.push(pid);
      resolve({ pid, ended });
    }, (code, sig, _status, failed) => end({ code, sig, failed }));
  });
}

/** The lines read from fd until its end (it is closed then). */
function linesOf(fd: number): string[] {
  const b = Buffer.alloc(1 << 16);
  let out = '';
  for (let k = fs.readSync(fd, b); k > 0; k = fs.readSync(fd, b)) out += b.toString('utf8', 0, k);
  fs.closeSync(fd);
  return out.split('\n').filter(Boolean);
}

describe('children started without waiting for their exec', { skip }, () => {
  it('run, exit with their own status, and tell an exec that failed as runsv\'s child does (exit 111)', async () => {
    const dir = tmpdir('unwaited-');
    script(path.join(dir, 'good'), 'exit 3');
    fs.writeFileSync(path.join(dir, 'nointerp'), '#!/nonexistent/interpreter\n', { mode: 0o755 });
    children.startUnwaited(true);
    try {
      const many = await Promise.all(Array.from({ length: 80 }, () => start('./good', dir)));
      const bad = await start('./nointerp', dir);
      // its failure may come after the burst: it is told all the same
      children.startUnwaited(false);
      for (const m of many) assert.deepEqual(await m.ended, { code: 3, sig: 0, failed: undefined });
      const b = await bad.ended;
      assert.equal(b.code, 111);
      assert.equal((b.failed as NodeJS.ErrnoException | undefined)?.code, 'ENOENT');
    } finally {
      children.startUnwaited(false);
    }
    // every child has exec'd or exited: the requests' memory is given back
    await until('trimmed', () => unwaited.trim());
  });

  it('put a child\'s fds in place (a logged service\'s stdout) on slots lent until its exec, then back on /dev/null', async () => {
    const dir = tmpdir('unwaited-');
    script(path.join(dir, 'say'), 'echo "hello $1"');
    const [r, w] = pipe();
    const before = unwaited.started();
    const n = 100; // more than there are slots to lend: the rest wait for them or take the waiting start
    children.startUnwaited(true);
    let ended: Ended[];
    try {
      const many = await Promise.all(Array.from({ length: n }, (_, i) => startWith('./say', [`./say`, `${i}`], dir, [[0, 0], [w, 1], [2, 2]])));
      ended = await Promise.all(many.map((m) => m.ended));
    } finally {
      children.startUnwaited(false);
      fs.closeSync(w);
    }
    for (const e of ended) assert.deepEqual(e, { code: 0, sig: 0, failed: undefined });
    assert.deepEqual(linesOf(r).sort(), Array.from({ length: n }, (_, i) => `hello ${i}`).sort());
    assert.ok(unwaited.started() > before, 'some of them started without waiting');
    // every slot lent is /dev/null again, close-on-exec (none left holding the pipe: its end came)
    const spare = clone.get()!.spare;
    assert.equal(spare.length, clone.SPARE_SLOTS);
    for (const fd of spare) {
      assert.equal(fs.readlinkSync(`/proc/self/fd/${fd}`), '/dev/null');
      const flags = parseInt(/flags:\s+(\d+)/.exec(fs.readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'))![1]!, 8);
      assert.ok(flags & 0o2000000, `slot ${fd} close-on-exec`);
    }
  });

  it('give each child the environment it is started with, the one most children share and others', async () => {
    const dir = tmpdir('unwaited-');
    script(path.join(dir, 'env'), 'echo "$1 $V"');
    const [r, w] = pipe();
    const shared = { PATH: process.env.PATH, V: 'shared' };
    const n = 60;
    const envOf = (i: number): NodeJS.ProcessEnv => (i % 3 === 2 ? { PATH: process.env.PATH, V: `own${i}` } : shared);
    children.startUnwaited(true);
    let ended: Ended[];
    try {
      const many = await Promise.all(Array.from({ length: n }, (_, i) => startWith('./env', ['./env', `${i}`], dir, [[0, 0], [w, 1], [2, 2]], envOf(i))));
      ended = await Promise.all(many.map((m) => m.ended));
      // and with the waiting start (clonespawn.ts) too
      const more = await Promise.all([n, n + 1, n + 2].map((i) => startWith('./env', ['./env', `${i}`], dir, [[0, 0], [w, 1], [2, 2]], envOf(i))));
      ended.push(...await Promise.all(more.map((m) => m.ended)));
    } finally {
      children.startUnwaited(false);
      fs.closeSync(w);
    }
    for (const e of ended) assert.deepEqual(e, { code: 0, sig: 0, failed: undefined });
    assert.deepEqual(linesOf(r).sort(), Array.from({ length: n + 3 }, (_, i) => `${i} ${envOf(i).V}`).sort());
  });

  it('leave a ./run that does not exist to the waiting start, which throws at once', async () => {
    const dir = tmpdir('unwaited-');
    children.startUnwaited(true);
    try {
      await assert.rejects(start('./missing', dir), (e: NodeJS.ErrnoException) => e.code === 'ENOENT');
    } finally {
      children.startUnwaited(false);
    }
  });
});
