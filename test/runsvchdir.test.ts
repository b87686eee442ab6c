// runsvchdir (man runsvchdir): ours with $RUNSVDIR (runit 2.3.0), and the same
// steps against runit 2.1.2's, which only knows /etc/runit/runsvdir: it runs
// in a private mount namespace with a temporary tree bound there.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { bin, ref, run, tmpdir, type Ran } from './helpers.js';

const ours = bin('runsvchdir');
const theirs = ref('runsvchdir');
const canUnshare = theirs !== null && process.getuid?.() === 0
  && spawnSync('unshare', ['-m', 'true']).status === 0 && fs.existsSync('/etc/runit/runsvdir');
const skipRef = canUnshare ? false : 'needs root, unshare -m, /etc/runit/runsvdir and runit\'s runsvchdir';

function fresh(): string {
  const d = tmpdir('runsvchdir-');
  for (const n of ['a', 'b']) fs.mkdirSync(path.join(d, n));
  fs.symlinkSync('a', path.join(d, 'current'));
  fs.writeFileSync(path.join(d, 'file'), '');
  return d;
}

/** What runsvchdir leaves behind: each entry's kind and link target. */
function listing(d: string): string {
  return fs.readdirSync(d).sort().map((n) => {
    const p = path.join(d, n);
    const st = fs.lstatSync(p);
    return st.isSymbolicLink() ? `${n} -> ${fs.readlinkSync(p)}` : `${n} ${st.isDirectory() ? 'dir' : 'file'}`;
  }).join('\n');
}

// Both are called as plain `runsvchdir` found in PATH: runit names itself as called.
const viaPath = { ...process.env, PATH: `${path.dirname(ours)}:${process.env['PATH']}` };
const runOurs = (d: string, args: string[]): Ran =>
  run('runsvchdir', args, { cwd: '/', env: { ...viaPath, RUNSVDIR: d } });

function runTheirs(d: string, args: string[]): Ran {
  const quoted = args.map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  const r = spawnSync('unshare', ['-m', 'sh', '-c', `mount --bind '${d}' /etc/runit/runsvdir && cd / && PATH=${path.dirname(theirs!)}:$PATH exec runsvchdir ${quoted}`], { encoding: 'utf8' });
  return { out: r.stdout, err: r.stderr, code: r.status };
}

/** Steps, each run on the tree the previous ones left; `prep` changes the tree first. */
const abs = tmpdir('runsvchdir-abs-');
const steps: { args: string[]; prep?: (d: string) => void }[] = [
  { args: ['b'] },
  { args: ['b'] },
  { args: ['a'] },
  { args: ['.b'] },
  { args: ['nothere'] },
  { args: ['file'] },
  { args: [] },
  { args: [abs] },
  { args: ['b'], prep: (d) => { fs.rmSync(path.join(d, 'previous')); fs.mkdirSync(path.join(d, 'previous')); } },
  { args: ['a'], prep: (d) => { fs.rmdirSync(path.join(d, 'previous')); fs.rmSync(path.join(d, 'current')); } },
];

function play(go: (d: string, args: string[]) => Ran): string[] {
  const d = fresh();
  return steps.map((s) => {
    s.prep?.(d);
    const r = go(d, s.args);
    return `$ runsvchdir ${s.args.join(' ')}\n${r.out}${r.err}exit ${r.code}\n${listing(d).replace(abs, 'ABS')}`;
  });
}

describe('runsvchdir', () => {
  it('switches current atomically and keeps previous', () => {
    const d = fresh();
    let r = runOurs(d, ['b']);
    assert.deepEqual([r.code, r.out, r.err], [0, 'runsvchdir: b: now current.\n', '']);
    assert.equal(fs.readlinkSync(path.join(d, 'current')), 'b');
    assert.equal(fs.readlinkSync(path.join(d, 'previous')), 'a');
    assert.ok(!fs.existsSync(path.join(d, 'current.new')));
    r = runOurs(d, ['b']);
    assert.deepEqual([r.code, r.out], [0, 'runsvchdir: b: current.\n']);
    assert.equal(fs.readlinkSync(path.join(d, 'previous')), 'a', 'nothing changes when already current');
  });

  it('refuses dot names, missing and non-directories, with runit\'s messages', () => {
    const d = fresh();
    assert.deepEqual(Object.values(runOurs(d, ['.x'])), ['', 'runsvchdir: fatal: .x: must not start with a dot.\n', 111]);
    assert.deepEqual(Object.values(runOurs(d, ['nothere'])), ['', 'runsvchdir: fatal: nothere: file does not exist\n', 111]);
    assert.deepEqual(Object.values(runOurs(d, ['file'])), ['', 'runsvchdir: fatal: filenot a directory.\n', 111]);
    assert.deepEqual(Object.values(runOurs(d, [])), ['', 'usage: runsvchdir dir\n\n', 1]);
    assert.equal(fs.readlinkSync(path.join(d, 'current')), 'a');
  });

  it('honours $RUNSVDIR (runit 2.3.0)', () => {
    const r = run('runsvchdir', ['a'], { env: { ...viaPath, RUNSVDIR: '/nonexistent' } });
    assert.deepEqual([r.code, r.err], [111, 'runsvchdir: fatal: unable to chdir: /nonexistent: file does not exist\n']);
  });

  it('does what runit\'s runsvchdir does, step by step', { skip: skipRef }, () => {
    const want = play(runTheirs);
    const got = play(runOurs);
    for (let i = 0; i < steps.length; i++) assert.equal(got[i], want[i]);
  });
});
