// Children started without a copy of this process's fd table (src/sys/clonespawn.ts),
// through children.ts as the supervisors start them, against what posix_spawn gives.
// This file uses no node:child_process: children.ts reaps every child.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as children from '../src/sys/children.js';
import * as clone from '../src/sys/clonespawn.js';
import { pipe, setCloexec, spawn as posixSpawn, type SpawnOptions } from '../src/sys/libc.js';
import { execd, root, tmpdir, until } from './helpers.js';

const skip = process.arch === 'x64' && process.platform === 'linux' ? false : 'the routine is x86-64 Linux only';
const started: number[] = [];
after(() => { for (const p of started) try { process.kill(p, 'SIGKILL'); } catch { /* gone */ } });

/** A sleep started by children.start (the routine where it can), watched and killed after. */
function sleeper(opts: Partial<SpawnOptions> = {}): number {
  const pid = children.start('/bin/sleep', ['sleep', '1000'], { cwd: '/', ...opts }, () => { /* reaped */ });
  started.push(pid);
  return pid;
}
const fdsOf = (pid: number): number[] => fs.readdirSync(`/proc/${pid}/fd`).map(Number).sort((a, b) => a - b);
const field = (pid: number, name: string): string => new RegExp(`^${name}:\\s*(\\S+)`, 'm').exec(fs.readFileSync(`/proc/${pid}/status`, 'latin1'))![1]!;
const kids = (): number[] => fs.readdirSync('/proc/self/task').flatMap((t) => fs.readFileSync(`/proc/self/task/${t}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number));

describe('clonespawn', { skip }, () => {
  // the first child sets the routine up (and takes the fds passed on from then)
  before(() => { sleeper(); });

  it('is the very machine code clonespawn.s assembles to (when binutils is installed)', (t) => {
    const src = path.join(root, 'src/sys/clonespawn.s');
    const out = tmpdir('clonespawn-');
    try {
      execFileSync('as', ['-o', path.join(out, 'o'), src], { stdio: 'ignore' });
      execFileSync('objcopy', ['-O', 'binary', '-j', '.text', path.join(out, 'o'), path.join(out, 'bin')], { stdio: 'ignore' });
    } catch {
      t.skip('as and objcopy not installed (apt-get install binutils)');
      return;
    }
    const code = /^const CODE = '([^']+)';$/m.exec(fs.readFileSync(path.join(root, 'src/sys/clonespawn.ts'), 'utf8'))![1]!;
    assert.deepEqual(fs.readFileSync(path.join(out, 'bin')), Buffer.from(code, 'base64'));
  });

  it('gives the child its dups and stdio, none of the fds above, close-on-exec or not (posix_spawn passes those on)', async () => {
    const held: number[] = [];
    for (let i = 0; i < 300; i++) held.push(fs.openSync('/dev/null', 'r'));
    const leaky = held.slice(-5);
    for (const fd of leaky) setCloexec(fd, false);
    const [r, w] = pipe();
    try {
      const pid = sleeper({ dup: [[w, 1], [w, 7]] });
      // (the parent is woken before the exec has closed what is close-on-exec)
      await execd(pid);
      assert.equal(fs.readlinkSync(`/proc/${pid}/fd/1`), fs.readlinkSync(`/proc/self/fd/${w}`), 'the pipe on 1');
      assert.equal(fs.readlinkSync(`/proc/${pid}/fd/7`), fs.readlinkSync(`/proc/self/fd/${w}`), 'and on 7');
      const other = posixSpawn('/bin/sleep', ['sleep', '1000'], process.env, { cwd: '/' });
      started.push(other);
      await execd(other);
      for (const fd of leaky) assert.ok(fdsOf(other).includes(fd), `posix_spawn passes on fd ${fd}, not close-on-exec`);
      // above stdio (the test runner's, which it makes close-on-exec and not by turns): what
      // posix_spawn passes on (what this process was given) but the fds opened since, and the dup
      const above = (fds: number[]): number[] => fds.filter((fd) => fd > 2);
      assert.deepEqual(above(fdsOf(pid)), [...new Set([...above(fdsOf(other)).filter((fd) => !leaky.includes(fd)), 7])].sort((a, b) => a - b));
      // this process's own fds are all still open
      for (const fd of held) fs.fstatSync(fd);
    } finally {
      for (const fd of [...held, r, w]) fs.closeSync(fd);
    }
  });

  it('gives every signal its default action and an empty mask (Node ignores SIGPIPE), as posix_spawn does', async () => {
    const pid = sleeper();
    const other = posixSpawn('/bin/sleep', ['sleep', '1000'], process.env, { cwd: '/' });
    started.push(other);
    await execd(pid);
    await execd(other);
    for (const f of ['SigIgn', 'SigCgt', 'SigBlk']) {
      assert.equal(field(pid, f), '0000000000000000', f);
      assert.equal(field(pid, f), field(other, f), `${f} as posix_spawn's`);
    }
    assert.notEqual(field(process.pid, 'SigIgn'), '0000000000000000', 'this process ignores some');
  });

  it('runs in the directory it is given, also /proc/self/fd/N for a directory opened last', async () => {
    const dir = tmpdir('clonespawn-cwd-');
    for (let i = 0; i < 50; i++) fs.openSync('/dev/null', 'r'); // (left open: above every slot)
    const fd = fs.openSync(dir, fs.constants.O_RDONLY | fs.constants.O_DIRECTORY);
    try {
      const pid = sleeper({ cwd: `/proc/self/fd/${fd}` });
      await execd(pid);
      assert.equal(fs.readlinkSync(`/proc/${pid}/cwd`), fs.realpathSync(dir));
      assert.ok(!fdsOf(pid).includes(fd), 'the directory fd itself is not passed on');
    } finally {
      fs.closeSync(fd);
    }
  });

  it('starts a new session when asked, and stays in ours when not', () => {
    const own = sleeper({ newSession: true });
    const same = sleeper();
    assert.equal(field(own, 'NSsid'), String(own));
    assert.equal(field(same, 'NSsid'), field(process.pid, 'NSsid'));
  });

  it('clears close-on-exec on a dup of an fd onto itself', async () => {
    const fd = fs.openSync('/dev/null', 'r');
    try {
      const pid = sleeper({ dup: [[fd, fd]] });
      await execd(pid);
      assert.ok(fdsOf(pid).includes(fd));
    } finally {
      fs.closeSync(fd);
    }
  });

  it('throws what the exec fails with, and the failed child is reaped', async () => {
    const dir = tmpdir('clonespawn-err-');
    fs.writeFileSync(path.join(dir, 'plain'), '#!/bin/sh\n', { mode: 0o644 });
    assert.throws(() => children.start(path.join(dir, 'none'), ['none'], { cwd: dir }, () => { /* never */ }), { code: 'ENOENT' });
    assert.throws(() => children.start(path.join(dir, 'plain'), ['plain'], { cwd: dir }, () => { /* never */ }), { code: 'EACCES' });
    assert.throws(() => children.start('/bin/true', ['true'], { cwd: path.join(dir, 'gone') }, () => { /* never */ }), { code: 'ENOENT' });
    const fd = fs.openSync('/dev/null', 'r');
    fs.closeSync(fd);
    assert.throws(() => children.start('/bin/true', ['true'], { cwd: dir, dup: [[fd, 1]] }, () => { /* never */ }), { code: 'EBADF' });
    await until('no child of ours left but the sleepers', () => kids().every((k) => started.includes(k)));
  });

  it('starts several at once on worker threads, each with its own fds', async () => {
    const dir = tmpdir('clonespawn-async-');
    const pipes = Array.from({ length: 6 }, () => pipe());
    const done: Promise<number>[] = pipes.map(([, w], i) => new Promise((resolve, reject) => {
      children.startAsync('/bin/sh', ['sh', '-c', `echo child-${i}; exec sleep 1000`], { cwd: dir, dup: [[w, 1]] },
        (err, pid) => { if (err) reject(err); else { started.push(pid); resolve(pid); } }, () => { /* killed after */ });
    }));
    const pids = await Promise.all(done);
    assert.equal(new Set(pids).size, 6);
    pipes.forEach(([r, w], i) => {
      fs.closeSync(w);
      const b = Buffer.alloc(64);
      const n = fs.readSync(r, b);
      assert.equal(b.subarray(0, n).toString(), `child-${i}\n`);
      fs.closeSync(r);
    });
  });

  it('leaves a request that does not fit to posix_spawn (five fds to give)', async () => {
    const fds = Array.from({ length: 5 }, () => fs.openSync('/dev/null', 'r'));
    try {
      const dup = fds.map((fd, i): [number, number] => [fd, 10 + i]);
      assert.equal(clone.start('/bin/sleep', ['sleep', '1000'], process.env, { cwd: '/', dup }), false);
      const pid = sleeper({ dup });
      await execd(pid);
      assert.deepEqual(fdsOf(pid).filter((f) => f >= 10 && f < 15), [10, 11, 12, 13, 14]);
    } finally {
      for (const fd of fds) fs.closeSync(fd);
    }
  });
});
