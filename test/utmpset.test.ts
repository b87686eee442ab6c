// utmpset over real utmp/wtmp files. utmpset (ours and runit's) only knows
// /var/run/utmp and /var/log/wtmp, so each run happens in a private mount
// namespace (unshare -m) with temporary directories mounted over /run and
// /var/log: the machine's own files are never touched.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { bin, ref, tmpdir } from './helpers.js';

const utmpset = bin('utmpset');
const reference = ref('utmpset');
const canMount = process.getuid?.() === 0
  && spawnSync('unshare', ['-m', 'true']).status === 0
  && fs.realpathSync('/var/run') === '/run';
const needNs = canMount ? false : 'needs root and unshare -m';

interface Ran { code: number | null; out: string; err: string }

function run(program: string, args: string[]): Ran {
  const r = spawnSync(program, args, { encoding: 'utf8' });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

/** A utmp record as glibc lays it out (384 bytes). */
function record(type: number, pid: number, line: string, user: string, host: string, sec: number): Buffer {
  const b = Buffer.alloc(384);
  b.writeInt16LE(type, 0);
  b.writeInt32LE(pid, 4);
  b.write(line, 8);
  b.write(line.slice(-4), 40);
  b.write(user, 44);
  b.write(host, 76);
  b.writeInt32LE(sec, 340);
  b.writeInt32LE(5, 344);
  return b;
}

const sample = Buffer.concat([
  record(2, 0, '~', 'reboot', '6.1.0', 1000),
  record(6, 100, 'tty5', 'LOGIN', '', 1100),
  record(7, 200, 'tty6', 'alice', 'host1', 1200),
  record(7, 300, 'pts/0', 'bob', 'h2', 1300),
  record(8, 0, 'tty7', '', '', 1400),
]);

interface Outcome extends Ran { utmp: Buffer; wtmp: Buffer | null; before: number; after: number }

/** Run `program args` with `utmp` as /var/run/utmp and an empty /var/log/wtmp (or none). */
function inNamespace(program: string, args: string[], utmp: Buffer | null, withWtmp = true): Outcome {
  const run = tmpdir('utmp-run-');
  const log = tmpdir('utmp-log-');
  if (utmp) fs.writeFileSync(path.join(run, 'utmp'), utmp);
  if (withWtmp) fs.writeFileSync(path.join(log, 'wtmp'), '');
  const before = Math.floor(Date.now() / 1000);
  const r = spawnSync('unshare', ['-m', 'sh', '-c',
    'mount --bind "$1" /run && mount --bind "$2" /var/log && shift 2 && exec "$@"', 'sh', run, log, program, ...args],
  { encoding: 'utf8' });
  const after = Math.ceil(Date.now() / 1000);
  const read = (f: string): Buffer | null => (fs.existsSync(f) ? fs.readFileSync(f) : null);
  const out = {
    code: r.status, out: r.stdout, err: r.stderr,
    utmp: read(path.join(run, 'utmp')) ?? Buffer.alloc(0), wtmp: read(path.join(log, 'wtmp')), before, after,
  };
  fs.rmSync(run, { recursive: true, force: true });
  fs.rmSync(log, { recursive: true, force: true });
  return out;
}

/** Blank the ut_tv seconds of every record: the time of the run. */
function untimed(b: Buffer | null): Buffer | null {
  if (!b) return b;
  const c = Buffer.from(b);
  for (let at = 0; at + 384 <= c.length; at += 384) c.writeInt32LE(0, at + 340);
  return c;
}

describe('utmpset', () => {
  it('usage: exit 1', () => {
    // named as called (runit's argv[0]): the usage by the path, the option message by the base name
    assert.deepEqual(run(utmpset, []), { code: 1, out: '', err: `usage: ${utmpset} [-w] line\n\n` });
    assert.deepEqual(run(utmpset, ['-x', 'tty1']),
      { code: 1, out: '', err: `utmpset: illegal option -- x\nusage: ${utmpset} [-w] line\n\n` });
  });

  it('marks the line\'s record dead, without user or host, at the time now', { skip: needNs }, () => {
    const r = inNamespace(utmpset, ['tty6'], sample);
    assert.deepEqual([r.code, r.err], [0, '']);
    assert.equal(r.utmp.length, sample.length);
    assert.ok(r.utmp.subarray(0, 768).equals(sample.subarray(0, 768)), 'other records untouched');
    assert.ok(r.utmp.subarray(1152).equals(sample.subarray(1152)), 'other records untouched');
    const rec = r.utmp.subarray(768, 1152);
    assert.equal(rec.readInt16LE(0), 8, 'DEAD_PROCESS');
    assert.equal(rec.readInt32LE(4), 200, 'pid kept');
    assert.equal(rec.toString('latin1', 8, 12), 'tty6');
    assert.ok(rec.subarray(44, 332).every((b) => b === 0), 'user and host cleared');
    const t = rec.readInt32LE(340);
    assert.ok(t >= r.before && t <= r.after, `time ${t} is the time of the run`);
    assert.equal(rec.readInt32LE(344), 5, 'microseconds left as they were');
    assert.equal(r.wtmp?.length, 0, 'no -w: wtmp left alone');
  });

  it('-w appends a logout record to wtmp', { skip: needNs }, () => {
    const r = inNamespace(utmpset, ['-w', 'pts/0'], sample);
    assert.deepEqual([r.code, r.err], [0, '']);
    const w = r.wtmp!;
    assert.equal(w.length, 384);
    assert.equal(w.readInt16LE(0), 8);
    assert.equal(w.toString('latin1', 8, 13), 'pts/0');
    const t = w.readInt32LE(340);
    assert.ok(t >= r.before && t <= r.after);
    w.writeInt32LE(0, 340);
    w.fill(0, 0, 2);
    w.fill(0, 8, 13);
    assert.ok(w.every((b) => b === 0), 'nothing else in the record');
  });

  it('a line with no record, or only a dead one: exit 111, wtmp untouched', { skip: needNs }, () => {
    for (const line of ['tty9', 'tty7']) {
      const r = inNamespace(utmpset, ['-w', line], sample);
      assert.deepEqual([r.code, r.err], [111, `utmpset: warning: unable to logout line ${line} in utmp: no such entry\n`]);
      assert.ok(r.utmp.equals(sample));
      assert.equal(r.wtmp?.length, 0);
    }
  });

  it('no utmp file: exit 111', { skip: needNs }, () => {
    const r = inNamespace(utmpset, ['tty1'], null);
    assert.deepEqual([r.code, r.err], [111, 'utmpset: fatal: unable to open /var/run/utmp: file does not exist\n']);
  });

  it('creates wtmp 0600 when there is none', { skip: needNs }, () => {
    const run = tmpdir('utmp-run-');
    const log = tmpdir('utmp-log-');
    fs.writeFileSync(path.join(run, 'utmp'), sample);
    const r = spawnSync('unshare', ['-m', 'sh', '-c',
      'mount --bind "$1" /run && mount --bind "$2" /var/log && exec "$3" -w tty6', 'sh', run, log, utmpset]);
    assert.equal(r.status, 0);
    assert.equal(fs.statSync(path.join(log, 'wtmp')).mode & 0o777, 0o600);
    fs.rmSync(run, { recursive: true, force: true });
    fs.rmSync(log, { recursive: true, force: true });
  });

  const diffSkip = needNs || (reference === null ? 'reference runit not installed' : false);
  describe('against runit\'s utmpset', { skip: diffSkip }, () => {
    const cases: [string[], Buffer | null][] = [
      [[], sample], [['-w'], sample], [['-V'], sample],
      [['tty6'], sample], [['-w', 'tty6'], sample], [['-w', 'tty5'], sample], [['-w', '~'], sample],
      [['-w', 'pts/0'], sample], [['-w', 'tty7'], sample], [['tty9'], sample], [['-w', 'tty1'], null],
      [['-w', ''], sample],
    ];
    for (const [args, utmp] of cases) {
      it(`utmpset ${args.join(' ')}${utmp ? '' : ' (no utmp)'}`, () => {
        const a = inNamespace(utmpset, args, utmp);
        const b = inNamespace(reference!, args, utmp);
        const view = (o: Outcome): unknown => ({
          // both name themselves by the path they were called by (test/names.test.ts)
          code: o.code, out: o.out, err: (args[0] === '-V' ? o.err.split('\n').slice(1).join('\n') : o.err).replaceAll(reference!, 'UTMPSET').replaceAll(utmpset, 'UTMPSET'),
          utmp: untimed(o.utmp)!.toString('hex'), wtmp: untimed(o.wtmp)?.toString('hex'),
        });
        assert.deepEqual(view(a), view(b));
      });
    }
  });
});
