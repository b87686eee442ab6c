// The libc bindings (each one exercised for real), getopt, TAI64N and the
// supervise/ status record.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import * as libc from '../src/sys/libc.js';
import { getopt, GetoptError } from '../src/sys/getopt.js';
import * as tai from '../src/sys/tai64n.js';
import * as status from '../src/supervise/status.js';
import { tmpdir } from './helpers.js';

/** Run a snippet of this module in a fresh Node, to test calls that change the process. */
function inChild(code: string): { out: string; err: string; code: number | null } {
  const lib = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../src/sys/libc.js');
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', `import * as libc from ${JSON.stringify(lib)};\n${code}`], { encoding: 'utf8' });
  return { out: r.stdout, err: r.stderr, code: r.status };
}

describe('libc bindings', () => {
  it('pipe2 gives a working, close-on-exec pipe', () => {
    const [r, w] = libc.pipe();
    fs.writeSync(w, 'hello');
    const b = Buffer.alloc(16);
    assert.equal(fs.readSync(r, b), 5);
    assert.equal(b.toString('utf8', 0, 5), 'hello');
    assert.equal(libc.getCloexec(r), true);
    libc.setCloexec(w, false);
    assert.equal(libc.getCloexec(w), false);
    fs.closeSync(r);
    fs.closeSync(w);
  });

  it('mkfifo makes a FIFO with the mode asked (under umask), and reports EEXIST', () => {
    const f = path.join(tmpdir(), 'fifo');
    libc.mkfifo(f, 0o600);
    const st = fs.statSync(f);
    assert.ok(st.isFIFO());
    assert.equal(st.mode & 0o777, 0o600);
    assert.throws(() => libc.mkfifo(f, 0o600), (e: libc.SysError) => e.code === 'EEXIST' && /file already exists/.test(e.message));
  });

  it('flock: a second exclusive non-blocking lock fails with EWOULDBLOCK', () => {
    const f = path.join(tmpdir(), 'lock');
    const a = fs.openSync(f, 'w');
    const b = fs.openSync(f, 'r');
    libc.flock(a, libc.LOCK_EX | libc.LOCK_NB);
    assert.throws(() => libc.flock(b, libc.LOCK_EX | libc.LOCK_NB), (e: libc.SysError) => e.code === 'EAGAIN' || e.code === 'EWOULDBLOCK');
    libc.flock(a, libc.LOCK_UN);
    libc.flock(b, libc.LOCK_EX | libc.LOCK_NB);
    fs.closeSync(a);
    fs.closeSync(b);
  });

  it('setNonblock toggles O_NONBLOCK', () => {
    const [r, w] = libc.pipe();
    libc.setNonblock(r, true);
    assert.throws(() => fs.readSync(r, Buffer.alloc(1)), /EAGAIN/);
    fs.closeSync(r);
    fs.closeSync(w);
  });

  it('getrlimit and setrlimit; raiseNofile lifts the soft limit to the hard one', () => {
    const r = inChild(`
      const before = libc.getrlimit(libc.RLIMIT.NOFILE);
      libc.setrlimit(libc.RLIMIT.NOFILE, { cur: 256n, max: before.max });
      const low = libc.getrlimit(libc.RLIMIT.NOFILE);
      libc.raiseNofile();
      const after = libc.getrlimit(libc.RLIMIT.NOFILE);
      console.log(String(low.cur), String(after.cur === before.max));`);
    assert.equal(r.out, '256 true\n', r.err);
  });

  it('setsid makes a new session; setpgid a new group', () => {
    const r = inChild(`
      const sid = libc.setsid();
      console.log(sid === process.pid, libc.getpgrp() === process.pid);`);
    assert.equal(r.out, 'true true\n', r.err);
    const r2 = inChild(`libc.setpgid(0, 0); console.log(libc.getpgrp() === process.pid);`);
    assert.equal(r2.out, 'true\n', r2.err);
  });

  it('execve replaces the process: same pid, stdio open, no signal ignored or blocked', () => {
    // grep reads its own status: a shell would show its own mask, which dash
    // blocks wholly for a moment around each fork (a race with what it runs)
    const r = inChild(`
      process.stdout.write(process.pid + '\\n');
      libc.execve('/bin/grep', ['grep', '-E', '^(Pid|SigIgn|SigBlk):', '/proc/self/status', '/nonexistent'], process.env);`);
    const [pid, ...status] = r.out.trim().split('\n').map((l) => l.replace('/proc/self/status:', ''));
    assert.deepEqual(status.map((l) => l.split(/:\s+/)), [['Pid', pid], ['SigBlk', '0000000000000000'], ['SigIgn', '0000000000000000']]);
    assert.match(r.err, /^grep: \/nonexistent: /, 'stderr open');
    assert.equal(r.code, 2);
  });

  it('execve of a missing program throws ENOENT', () => {
    assert.throws(() => libc.execve('/nonexistent/prog', ['prog'], {}), (e: libc.SysError) => e.code === 'ENOENT');
  });

  it('kill reports whether the target exists', () => {
    assert.equal(libc.kill(process.pid, 0), true);
    assert.equal(libc.kill(0x3fffffff, 0), false);
  });
});

describe('getopt', () => {
  it('bundles flags and takes arguments attached or separate', () => {
    assert.deepEqual(getopt(['-vw5', 'x'], 'vw:'), { opts: [{ opt: 'v' }, { opt: 'w', arg: '5' }], rest: ['x'] });
    assert.deepEqual(getopt(['-w', '5', '-v', 'x'], 'vw:'), { opts: [{ opt: 'w', arg: '5' }, { opt: 'v' }], rest: ['x'] });
    assert.deepEqual(getopt(['-ttt', '--', '-v'], 'tv'), { opts: [{ opt: 't' }, { opt: 't' }, { opt: 't' }], rest: ['-v'] });
    assert.deepEqual(getopt(['-', '-v'], 'v'), { opts: [], rest: ['-', '-v'] });
  });

  it('rejects unknown options and missing arguments', () => {
    assert.throws(() => getopt(['-x'], 'v'), GetoptError);
    assert.throws(() => getopt(['-w'], 'w:'), GetoptError);
  });
});

describe('tai64n', () => {
  it('packs 2^62 + 10 + unix seconds, big-endian, then nanoseconds', () => {
    const t = tai.fromUnix(0x6b026d10, 0x1a592f94);
    assert.equal(tai.pack(t).toString('hex'), '400000006b026d1a1a592f94');
    assert.equal(tai.format(t), '@400000006b026d1a1a592f94');
    assert.deepEqual(tai.unpack(tai.pack(t)), t);
    assert.ok(Math.abs(tai.toUnix(tai.now()) - Date.now() / 1000) < 5);
  });
});

describe('supervise/status', () => {
  it('round-trips the 20-byte record with runit\'s layout', () => {
    const s: status.Status = { when: tai.fromUnix(1000, 5), pid: 0x01020304, paused: true, want: 'd', term: true, state: 1 };
    const b = status.pack(s);
    assert.equal(b.length, 20);
    assert.equal(b.subarray(12, 16).toString('hex'), '04030201', 'pid little-endian');
    assert.deepEqual([b[16], b[17], b[18], b[19]], [1, 0x64, 1, 1]);
    assert.deepEqual(status.unpack(b), s);
  });

  it('words the stat line as runsv does', () => {
    const s: status.Status = { when: tai.now(), pid: 5, paused: true, want: 'd', term: true, state: 1 };
    assert.equal(status.statText(s, false), 'run, paused, got TERM, want down');
    assert.equal(status.statText(s, true), 'run, paused, got TERM, want exit');
    assert.equal(status.statText({ ...s, state: 0, paused: false, term: false }, false), 'down');
    assert.equal(status.statText({ ...s, state: 2, paused: false, term: false, want: 'u' }, false), 'finish');
  });

  it('writes pid, stat and status, leaving no .new files', () => {
    const d = tmpdir();
    const s: status.Status = { when: tai.now(), pid: 42, paused: false, want: 'u', term: false, state: 1 };
    const warnings: string[] = [];
    status.write(d, s, false, (w) => warnings.push(w));
    assert.deepEqual(fs.readdirSync(d).sort(), ['pid', 'stat', 'status']);
    assert.equal(fs.readFileSync(path.join(d, 'pid'), 'utf8'), '42\n');
    assert.equal(fs.readFileSync(path.join(d, 'stat'), 'utf8'), 'run\n');
    assert.deepEqual(status.read(d), s);
    assert.equal(warnings.length, 0);
    status.write(path.join(d, 'gone'), s, false, (w) => warnings.push(w));
    assert.deepEqual(warnings, ['open pid.new'], 'the first failure ends the update, as in runsv');
  });
});
