// svlogd: real processes in temporary directories (man svlogd is the spec).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import dgram from 'node:dgram';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pmatch } from '../src/svlogd/pattern.js';
// a generous limit by the clock: a loaded machine may take seconds to start Node
import { until } from './helpers.js';

const here = path.dirname(new URL(import.meta.url).pathname);
const SVLOGD = path.resolve(here, '../../bin/svlogd');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'svlogd-test-'));
const children = new Set<ChildProcess>();
after(() => {
  for (const c of children) if (c.exitCode === null && c.pid) { try { process.kill(c.pid, 'SIGKILL'); } catch { /* gone */ } }
  fs.rmSync(tmp, { recursive: true, force: true });
});

let n = 0;
function logdir(config?: string): string {
  const d = path.join(tmp, `d${++n}`);
  fs.mkdirSync(d);
  if (config !== undefined) fs.writeFileSync(path.join(d, 'config'), config);
  return d;
}

interface Run { code: number | null; stderr: string }

function start(args: string[], cwd = tmp): ChildProcess & { err: string[] } {
  const c = spawn(SVLOGD, args, { cwd, stdio: ['pipe', 'ignore', 'pipe'] }) as ChildProcess & { err: string[] };
  children.add(c);
  c.err = [];
  c.stdin!.on('error', () => { /* it may exit without reading (usage) */ });
  c.stderr!.on('data', (b: Buffer) => c.err.push(b.toString('latin1')));
  return c;
}

function exited(c: ChildProcess & { err: string[] }): Promise<Run> {
  return new Promise((resolve) => {
    if (c.exitCode !== null) { resolve({ code: c.exitCode, stderr: c.err.join('') }); return; }
    c.on('close', (code) => { children.delete(c); resolve({ code, stderr: c.err.join('') }); });
  });
}

async function run(args: string[], input: string | Buffer): Promise<Run> {
  const c = start(args);
  c.stdin!.end(input);
  return exited(c);
}


const files = (d: string): string[] => fs.readdirSync(d).sort();
const old = (d: string): string[] => files(d).filter((f) => f.startsWith('@'));
const read = (d: string, f: string): string => fs.readFileSync(path.join(d, f), 'latin1');
const mode = (d: string, f: string): number => fs.statSync(path.join(d, f)).mode & 0o777;
/** Every line svlogd kept, oldest file first. */
const all = (d: string): string => old(d).map((f) => read(d, f)).join('') + read(d, 'current');
const numbered = (k: number, w = 20): string => Array.from({ length: k }, (_, i) => `line ${String(i).padStart(5, '0')} ${'x'.repeat(w)}\n`).join('');

test('patterns: documented * and + semantics, whole message', { timeout: 20000 }, () => {
  const m = (p: string, s: string): boolean => pmatch(Buffer.from(p), Buffer.from(s), 0, s.length);
  assert.equal(m('hello', 'hello'), true);
  assert.equal(m('hello', 'hello world'), false);
  assert.equal(m('a+bc', 'abbc'), true);
  assert.equal(m('a+bc', 'ac'), false);
  assert.equal(m('*z', 'abz'), true);
  assert.equal(m('*z', 'azz'), false);
  assert.equal(m('-*pid*'.slice(1), 'tcpsvd: info: pid 1977 from 10.4.1.14'), false);
  assert.equal(m('*: *: pid *', 'tcpsvd: info: pid 1977 from 10.4.1.14'), true);
  assert.equal(m('*', ''), true);
  assert.equal(m('', ''), true);
  assert.equal(m('a+', 'aa'), false);
  assert.equal(m('a**b', 'a*b'), true);
  assert.equal(m('ab+cd', 'abcc'), true); // runit: the message ended inside the + run
  assert.equal(m('b+a', 'b'), false);
});

test('writes current, lock; modes 0644 while written, 0744 when done (as runit); -tt stamps', { timeout: 20000 }, async () => {
  const d = logdir();
  const c = start(['-tt', d]);
  c.stdin!.write('hello\nworld\n');
  await until('current', () => fs.existsSync(path.join(d, 'current')) && read(d, 'current').includes('world'));
  assert.equal(mode(d, 'current'), 0o644);
  assert.equal(mode(d, 'lock'), 0o600);
  c.stdin!.end();
  const r = await exited(c);
  assert.equal(r.code, 0);
  assert.equal(mode(d, 'current'), 0o744);
  assert.match(read(d, 'current'), /^\d{4}-\d\d-\d\d_\d\d:\d\d:\d\d\.\d{5} hello\n\d{4}-\d\d-\d\d_\d\d:\d\d:\d\d\.\d{5} world\n$/);
});

test('-t TAI64N and -ttt stamps', { timeout: 20000 }, async () => {
  const d1 = logdir();
  const d2 = logdir();
  await run(['-t', d1], 'a\n');
  await run(['-ttt', d2], 'b\n');
  assert.match(read(d1, 'current'), /^@4000000[0-9a-f]{17} a\n$/);
  assert.match(read(d2, 'current'), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{5} b\n$/);
  const stamp = read(d2, 'current').slice(0, 19).replace('T', ' ') + 'Z';
  assert.ok(Math.abs(Date.parse(stamp) - Date.now()) < 60_000, 'stamp is UTC now');
});

test('usage and bad options exit 111', { timeout: 20000 }, async () => {
  for (const args of [[], ['-x', 'd'], ['-l', '2000', 'd'], ['-r', 'ab', 'd']]) {
    const r = await run(args, '');
    assert.equal(r.code, 111, args.join(' '));
    assert.ok(r.stderr.includes(`usage: ${SVLOGD} [-ttv] [-r c] [-R abc] [-l len] [-b buflen] dir ...\n\n`), r.stderr);
  }
});

test('unusable directories: warning, skipped; none usable: fatal 111', { timeout: 20000 }, async () => {
  const missing = path.join(tmp, 'nonexistent');
  let r = await run([missing], 'x\n');
  assert.equal(r.code, 111);
  assert.equal(r.stderr, `svlogd: warning: unable to open log directory: ${missing}: file does not exist\nsvlogd: fatal: no functional log directories.\n`);
  const d = logdir();
  r = await run([missing, d, d], 'x\n');
  assert.equal(r.code, 0);
  assert.match(r.stderr, /unable to open log directory/);
  assert.match(r.stderr, new RegExp(`svlogd: warning: unable to lock directory: ${d}: temporary failure`));
  assert.equal(read(d, 'current'), 'x\n');
});

test('size rotation: s and n, nothing lost, @tai64n.s names mode 0744', { timeout: 20000 }, async () => {
  const d = logdir('s300\nn3\n');
  const input = numbered(60);
  const r = await run(['-l', '50', d], input);
  assert.equal(r.code, 0);
  const o = old(d);
  assert.equal(o.length, 3);
  for (const f of o) {
    assert.match(f, /^@4000000[0-9a-f]{17}\.s$/);
    assert.equal(mode(d, f), 0o744);
    assert.ok(read(d, f).length <= 300 && read(d, f).length >= 250, 'rotated within the last len bytes');
    assert.ok(read(d, f).endsWith('\n'));
  }
  assert.ok(input.endsWith(all(d)), 'kept files are the input\'s tail, in order');
});

test('size smaller than len: current split at exactly s bytes', { timeout: 20000 }, async () => {
  const d = logdir('s100\nn0\n');
  const input = Array.from({ length: 60 }, (_, i) => `${i + 1}\n`).join('');
  await run([d], input);
  const o = old(d);
  assert.ok(o.length >= 1);
  for (const f of o) assert.equal(read(d, f).length, 100);
  assert.equal(all(d), input);
});

test('config: prefix, - + e E filters, stderr shows the first len characters', { timeout: 20000 }, async () => {
  const d = logdir('# comment\n\npP>\n-*\n+keep*\n-*drop\nekeep err*\nE*noerr\nekeep very*\n');
  const r = await run(['-l', '20', d], 'keep one\nkeep but drop\nother\nkeep err\nkeep err noerr\nkeep very long err line\n');
  assert.equal(read(d, 'current'), 'P>keep one\nP>keep err\nP>keep err noerr\nP>keep very long err line\n');
  assert.equal(r.stderr, 'P>keep err\nP>keep very long err l...\n');
});

test('-r and -R replace in the first len characters only', { timeout: 20000 }, async () => {
  const d = logdir();
  await run(['-r', '#', '-R', 'xC', '-l', '12', d], Buffer.from('ab\x01cd xyz\t\xe9~\x7f tail\x01C\n', 'latin1'));
  assert.equal(read(d, 'current'), 'ab#cd #yz##~\x7f tail\x01C\n');
});

test('binary data and NUL bytes; last line without newline is kept', { timeout: 20000 }, async () => {
  const d = logdir();
  const bin = Buffer.from([0, 1, 2, 255, 10, 0, 0, 10, 200, 201]);
  const r = await run([d], bin);
  assert.equal(r.code, 0);
  assert.deepEqual(fs.readFileSync(path.join(d, 'current')), Buffer.concat([bin, Buffer.from('\n')]));
});

test('a line longer than the input buffer is written whole', { timeout: 20000 }, async () => {
  const d = logdir();
  const long = 'L'.repeat(200_000) + '\n';
  await run(['-t', d], `a\n${long}b\n`);
  const lines = read(d, 'current').split('\n');
  assert.equal(lines.length, 4);
  assert.equal(lines[1]!.length, 26 + 200_000);
});

test('several log directories, each with its own filters', { timeout: 20000 }, async () => {
  const a = logdir('-*\n+a*\n');
  const b = logdir('-a*\n');
  await run([a, b], 'a1\nb1\na2\nc1\n');
  assert.equal(read(a, 'current'), 'a1\na2\n');
  assert.equal(read(b, 'current'), 'b1\nc1\n');
});

test('ALRM rotates non-empty current; HUP rereads config; TERM flushes, exits 0', { timeout: 20000 }, async () => {
  const d = logdir();
  const c = start(['-v', d]); // -v: `read: DIR/config` tells when HUP has been acted upon
  c.stdin!.write('one\n');
  await until('one', () => fs.existsSync(path.join(d, 'current')) && read(d, 'current') === 'one\n');
  c.kill('SIGALRM');
  await until('rotation', () => old(d).length === 1);
  assert.equal(read(d, old(d)[0]!), 'one\n');
  c.kill('SIGALRM'); // current is empty: nothing happens
  fs.writeFileSync(path.join(d, 'config'), 'pNEW:\n');
  c.kill('SIGHUP');
  // a line written before the new config is read would be logged without the prefix
  await until('config reread', () => c.err.join('').includes(`svlogd: info: read: ${d}/config\n`));
  c.stdin!.write('two\n');
  await until('two', () => read(d, 'current') === 'NEW:two\n');
  assert.equal(old(d).length, 1);
  c.stdin!.write('three\n');
  await until('three', () => read(d, 'current').includes('three'));
  c.kill('SIGTERM');
  const r = await exited(c);
  assert.equal(r.code, 0);
  assert.equal(read(d, 'current'), 'NEW:two\nNEW:three\n');
});

test('t: current older than t seconds is rotated', { timeout: 20000 }, async () => {
  const d = logdir('t1\n');
  const c = start([d]);
  c.stdin!.write('aged\n');
  await until('age rotation', () => old(d).length === 1);
  assert.equal(read(d, old(d)[0]!), 'aged\n');
  c.stdin!.end();
  assert.equal((await exited(c)).code, 0);
});

test('processor: .u fed to sh -c, output .s, fd 5 saved and given back on fd 4', { timeout: 20000 }, async () => {
  const d = logdir('s100\n!tr a-z A-Z; echo "seen $(cat <&4 | wc -l)" >&5; cat <&4\n');
  const input = numbered(12, 10);
  const r = await run(['-l', '20', d], input);
  assert.equal(r.code, 0);
  const o = old(d);
  assert.ok(o.length >= 2);
  for (const f of o) assert.match(f, /\.s$/);
  assert.equal(read(d, o[0]!), read(d, o[0]!).toUpperCase());
  assert.match(read(d, 'state'), /^seen [01]\n$/);
  assert.ok(!files(d).some((f) => f.endsWith('.u') || f.endsWith('.t')));
  assert.ok(input.toUpperCase().startsWith(o.map((f) => read(d, f)).join('')));
});

test('failing processor is retried; .u kept until it succeeds', { timeout: 20000 }, async () => {
  const d = logdir('s60\n!test -e ok || { touch ok; exit 1; }; cat\n');
  const r = await run(['-l', '20', d], numbered(3, 10));
  assert.equal(r.code, 0);
  assert.match(r.stderr, /svlogd: warning: processor failed, restart: /);
  assert.ok(old(d).length >= 1);
  assert.ok(old(d).every((f) => f.endsWith('.s')));
});

test('udp: u sends to loopback and logs, U only sends', { timeout: 20000 }, async () => {
  const sock = dgram.createSocket('udp4');
  const got: string[] = [];
  sock.on('message', (m) => got.push(m.toString()));
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', r));
  const port = sock.address().port;
  try {
    const a = logdir(`u127.0.0.1:${port}\npA:\n`);
    const b = logdir(`U127.0.0.1:${port}\npB:\n-*skip*\n`);
    await run(['-l', '8', a, b], 'hello\ndo skip\nlong line here\n');
    await until('datagrams', () => got.length >= 5);
    assert.deepEqual(got.sort(), ['A:do skip\n', 'A:hello\n', 'A:long lin...\n', 'B:hello\n', 'B:long lin...\n']);
    assert.equal(read(a, 'current'), 'A:hello\nA:do skip\nA:long line here\n');
    assert.equal(read(b, 'current'), '');
  } finally {
    sock.close();
  }
});

test('killed while writing: current is whole lines, kept as .u at the next start', { timeout: 20000 }, async () => {
  const d = logdir();
  const c = start([d]);
  c.stdin!.write(numbered(1000));
  await until('lines', () => fs.existsSync(path.join(d, 'current')) && read(d, 'current').length >= numbered(1000).length);
  c.kill('SIGKILL');
  await exited(c);
  assert.ok(read(d, 'current').endsWith('\n'));
  await run([d], 'after\n');
  const o = old(d);
  assert.equal(o.length, 1);
  assert.match(o[0]!, /\.u$/);
  assert.equal(read(d, o[0]!), numbered(1000));
  assert.equal(read(d, 'current'), 'after\n');
});

test('disk full: warns, keeps the lines, writes them once space returns', { timeout: 20000 }, async (t) => {
  if (process.getuid?.() !== 0) { t.skip('needs root to mount a tmpfs'); return; }
  const mnt = path.join(tmp, 'small');
  fs.mkdirSync(mnt);
  const m = spawn('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', mnt], { stdio: 'ignore' });
  const code = await new Promise((r) => m.on('close', r));
  if (code !== 0) { t.skip('cannot mount tmpfs'); return; }
  fs.mkdirSync(mnt + '/log'); // before svlogd looks for it
  const c = start([mnt + '/log']);
  try {
    fs.writeFileSync(mnt + '/filler', Buffer.alloc(40 * 1024));
    const input = numbered(900, 40); // ~47 KB: fits only once the filler is gone
    c.stdin!.end(input);
    await until('disk full warning', () => c.err.join('').includes('out of disk space'));
    assert.match(c.err.join(''), new RegExp(`svlogd: pausing: unable to write to current: ${mnt}/log: out of disk space`));
    assert.equal(c.exitCode, null, 'waits, does not exit');
    fs.rmSync(mnt + '/filler');
    const r = await exited(c);
    assert.equal(r.code, 0);
    assert.equal(read(mnt + '/log', 'current'), input);
    const warnings = r.stderr.split('\n').filter((l) => l.includes('out of disk space')).length;
    assert.ok(warnings < 10, 'pauses between retries');
  } finally {
    if (c.exitCode === null && c.pid) process.kill(c.pid, 'SIGKILL');
    await exited(c);
    await new Promise((r) => spawn('umount', ['-l', mnt], { stdio: 'ignore' }).on('close', r));
  }
});

test('disk full with N: old files deleted down to N', { timeout: 20000 }, async (t) => {
  if (process.getuid?.() !== 0) { t.skip('needs root to mount a tmpfs'); return; }
  const mnt = path.join(tmp, 'small2');
  fs.mkdirSync(mnt);
  const m = spawn('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', mnt], { stdio: 'ignore' });
  if (await new Promise((r) => m.on('close', r)) !== 0) { t.skip('cannot mount tmpfs'); return; }
  try {
    const d = mnt + '/log';
    fs.mkdirSync(d);
    fs.writeFileSync(d + '/config', 's8000\nn20\nN1\n');
    const r = await run([d], numbered(2000, 40));
    assert.equal(r.code, 0);
    assert.match(r.stderr, /svlogd: warning: out of disk space, delete: /);
    assert.ok(all(d).endsWith(numbered(2000, 40).slice(-20000)), 'newest lines kept');
  } finally {
    await new Promise((r) => spawn('umount', ['-l', mnt], { stdio: 'ignore' }).on('close', r));
  }
});

test('vanished log directory: HUP gives runit\'s warning and exits 111', { timeout: 20000 }, async () => {
  const d = logdir();
  const c = start([d]);
  c.stdin!.write('one\n');
  await until('one', () => fs.existsSync(path.join(d, 'current')) && read(d, 'current') === 'one\n');
  fs.rmSync(d, { recursive: true });
  c.kill('SIGHUP');
  const r = await exited(c);
  assert.equal(r.code, 111);
  assert.equal(r.stderr, `svlogd: warning: unable to open log directory: ${d}: file does not exist\nsvlogd: fatal: no functional log directories.\n`);
});

test('the .u about to be processed is never pruned (2.3.0)', { timeout: 20000 }, async () => {
  const d = logdir('s100\nn1\n!cat\n');
  // An old file whose name sorts after every new one: the new .u is the oldest.
  fs.writeFileSync(path.join(d, '@4fffffffffffffff00000000.s'), 'future\n');
  const input = numbered(4, 10); // 4 lines of 22 bytes: one rotation at 88 bytes
  const r = await run(['-l', '20', d], input + 'last\n');
  assert.equal(r.code, 0);
  const o = old(d);
  assert.equal(o.length, 1);
  assert.match(o[0]!, /^@4000000[0-9a-f]{17}\.s$/);
  assert.equal(read(d, o[0]!), input);
});

test('udp send failures are written to the log directory', { timeout: 20000 }, async () => {
  const d = logdir('u255.255.255.255:9\n'); // broadcast without SO_BROADCAST: EACCES
  const r = await run([d], 'hello\n');
  assert.equal(r.code, 0);
  assert.deepEqual(read(d, 'current').split('\n').sort(), ['', 'hello', 'warning: failure sending through udp: hello']);
  const bad = logdir('u1.2.3\n');
  const r2 = await run([bad], 'x\n');
  assert.equal(r2.stderr, 'svlogd: warning: unable to scan ip address: 1.2.3\n');
});

test('a rotation waits for the running processor; nothing lost', { timeout: 20000 }, async () => {
  const d = logdir('s100\nn0\n!sleep 0.3; cat\n');
  const input = numbered(12, 10); // ~3 rotations, each waiting for the one before
  const r = await run(['-l', '20', d], input);
  assert.equal(r.code, 0);
  assert.ok(old(d).length >= 2);
  assert.ok(old(d).every((f) => f.endsWith('.s')));
  assert.equal(all(d), input);
});

test('HUP while a processor runs: it is finished all the same', { timeout: 20000 }, async () => {
  const d = logdir('!sleep 0.5; tr a-z A-Z\n');
  const c = start([d]);
  c.stdin!.write('abc\n');
  await until('abc', () => fs.existsSync(path.join(d, 'current')) && read(d, 'current') === 'abc\n');
  c.kill('SIGALRM');
  await until('rotation', () => old(d).length === 1);
  c.kill('SIGHUP');
  await until('processed', () => old(d).length === 1 && old(d)[0]!.endsWith('.s'));
  assert.equal(read(d, old(d)[0]!), 'ABC\n');
  c.stdin!.end('def\n');
  assert.equal((await exited(c)).code, 0);
  assert.equal(read(d, 'current'), 'def\n');
});

test('SIGUSR1 ends svlogd as it ends runit\'s (no debugger port opens)', async () => {
  const d = logdir();
  const c = start([d]);
  c.stdin!.write('one\n');
  await until('current written', () => fs.existsSync(path.join(d, 'current')) && fs.readFileSync(path.join(d, 'current'), 'utf8') === 'one\n');
  process.kill(c.pid!, 'SIGUSR1');
  await exited(c);
  assert.equal(c.signalCode, 'SIGUSR1');
  assert.doesNotMatch(c.err.join(''), /Debugger/);
});
