// Children started without waiting for their exec (src/sys/unwaited.ts),
// through children.ts as the host starts them while it brings up a tree.
// This file uses no node:child_process: children.ts reaps every child.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import * as children from '../src/sys/children.js';
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
function start(file: string, cwd: string, dup: [number, number][] = [[0, 0], [1, 1], [2, 2]]): Promise<{ pid: number; ended: Promise<Ended> }> {
  return new Promise((resolve, reject) => {
    let end!: (e: Ended) => void;
    const ended = new Promise<Ended>((r) => { end = r; });
    children.startAsync(file, [file], { cwd, dup }, (err, pid) => {
      if (err) { reject(err); return; }
      started.push(pid);
      resolve({ pid, ended });
    }, (code, sig, _status, failed) => end({ code, sig, failed }));
  });
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

  it('leave a child that needs an fd put in place to the waiting start, which gives it', async () => {
    const dir = tmpdir('unwaited-');
    script(path.join(dir, 'say'), 'echo hello');
    const [r, w] = pipe();
    children.startUnwaited(true);
    try {
      const s = await start('./say', dir, [[0, 0], [w, 1], [2, 2]]);
      assert.deepEqual(await s.ended, { code: 0, sig: 0, failed: undefined });
      const b = Buffer.alloc(64);
      assert.equal(b.toString('utf8', 0, fs.readSync(r, b)), 'hello\n');
    } finally {
      children.startUnwaited(false);
      fs.closeSync(r);
      fs.closeSync(w);
    }
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
