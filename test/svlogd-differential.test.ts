// Differential tests: the same input and config through the reference runit
// svlogd (/usr/bin/svlogd) and ours; the log directories must hold the same
// files (rotated names compared by order and suffix) with the same contents,
// timestamps stripped, and standard error must say the same.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const here = path.dirname(new URL(import.meta.url).pathname);
const OURS = path.resolve(here, '../../bin/svlogd');
const REF = '/usr/bin/svlogd';
const haveRef = fs.existsSync(REF);
const skip = haveRef ? false : 'reference svlogd not installed (apt-get install runit)';
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'svlogd-diff-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

const STAMP = /^(@[0-9a-f]{24}|\d{4}-\d\d-\d\d[_T]\d\d:\d\d:\d\d\.\d{5}) /gm;

interface Result { stderr: string; code: number | null; dirs: Record<string, string>[] }

function runIn(prog: string, base: string, args: string[], configs: (string | null)[], input: Buffer, setup?: (d: string) => void): Promise<Result> {
  fs.mkdirSync(base);
  const dirs = configs.map((c, i) => {
    const d = path.join(base, `log${i}`);
    fs.mkdirSync(d);
    if (c !== null) fs.writeFileSync(path.join(d, 'config'), c);
    setup?.(d);
    return d;
  });
  return new Promise((resolve) => {
    const c = spawn(prog, [...args, ...dirs.map((d) => path.basename(d))], { cwd: base, stdio: ['pipe', 'ignore', 'pipe'] });
    const err: Buffer[] = [];
    c.stderr.on('data', (b: Buffer) => err.push(b));
    c.on('close', (code) => {
      resolve({ code, stderr: Buffer.concat(err).toString('latin1').replace(STAMP, 'STAMP '), dirs: dirs.map(snapshot) });
    });
    c.stdin.on('error', () => { /* it may exit without reading (usage) */ });
    c.stdin.end(input);
  });
}

/** A log directory as comparable text: rotated files by order and suffix, stamps stripped. */
function snapshot(d: string): Record<string, string> {
  const out: Record<string, string> = {};
  const names = fs.readdirSync(d).sort();
  let k = 0;
  for (const f of names) {
    const st = fs.statSync(path.join(d, f));
    const key = f.startsWith('@') ? `old${k++}${f.slice(25)}` : f;
    const body = f === 'lock' ? '' : fs.readFileSync(path.join(d, f), 'latin1').replace(STAMP, 'STAMP ');
    out[key] = `${(st.mode & 0o777).toString(8)} ${body}`;
  }
  return out;
}

let n = 0;
async function compare(args: string[], configs: (string | null)[], input: string | Buffer, setup?: (d: string) => void): Promise<void> {
  const buf = typeof input === 'string' ? Buffer.from(input, 'latin1') : input;
  const k = ++n;
  const ref = await runIn(REF, path.join(tmp, `ref${k}`), args, configs, buf, setup);
  const ours = await runIn(OURS, path.join(tmp, `ours${k}`), args, configs, buf, setup);
  assert.equal(ours.code, ref.code, 'exit code');
  const usage = (t: string): string => t.replace(/^usage: \S+/m, 'usage: svlogd');
  assert.equal(usage(ours.stderr), usage(ref.stderr), 'standard error');
  assert.deepEqual(ours.dirs, ref.dirs, 'log directories');
}

/** Deterministic pseudo-random numbers, so a failure can be reproduced. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

function randomText(r: () => number, lines: number, alphabet: string, maxLen: number): string {
  let out = '';
  for (let i = 0; i < lines; i++) {
    const len = Math.floor(r() * maxLen);
    for (let j = 0; j < len; j++) out += alphabet[Math.floor(r() * alphabet.length)];
    out += '\n';
  }
  return out;
}

test('plain lines, -tt, binary bytes, lines longer than -l', { skip, timeout: 30000 }, async () => {
  const r = rng(1);
  const input = randomText(r, 200, 'abc \t\x00\x01\xff', 120);
  await compare(['-tt', '-l', '50'], [null], input);
  await compare(['-t'], [null], input);
});

test('size rotation: s, n, lines crossing s, s smaller than len', { skip, timeout: 30000 }, async () => {
  const r = rng(2);
  const input = randomText(r, 400, 'xyz', 90);
  await compare(['-l', '50'], ['s300\nn4\n'], input);
  await compare([], ['s100\nn0\n'], input);
  await compare(['-ttt', '-l', '20', '-b', '21'], ['s200\nn3\n'], input);
});

test('patterns: random * and + patterns over random messages', { skip, timeout: 60000 }, async () => {
  const r = rng(3);
  // Lines by increasing length: runit's `+` at the end of a message compares
  // the byte after it, left over from an earlier, longer line.
  const input = randomText(r, 300, 'ab+*', 8).split('\n').slice(0, -1).sort((x, y) => x.length - y.length).join('\n') + '\n';
  for (let round = 0; round < 3; round++) {
    const configs: string[] = [];
    for (let i = 0; i < 8; i++) {
      const p = randomText(r, 1, 'ab*+', 5).trim();
      const q = randomText(r, 1, 'ab*+', 4).trim();
      configs.push(`-*\n+${p}\n-${q}\ne${q}*\n`);
    }
    await compare(['-l', '6'], configs, input);
  }
});

test('-r / -R replacement, prefix, e and E to standard error', { skip, timeout: 30000 }, async () => {
  const r = rng(4);
  const input = randomText(r, 100, 'ab\x01\x7f\xe9 xy:', 40);
  await compare(['-r', '#', '-R', 'x:', '-l', '12', '-b', '13'], ['pPFX:\ne*\nE*b*\n', '-a*\n'], input);
  await compare(['-R', 'y', '-tt'], ['e*\n'], input);
});

test('processor: rotated files fed through sh -c, state kept', { skip, timeout: 30000 }, async () => {
  const r = rng(5);
  const input = randomText(r, 60, 'abcdefgh', 30);
  await compare(['-l', '20'], ['s200\nn5\n!tr a-z A-Z; echo x >&5; cat <&4\n'], input);
});

test('modes: rotated, processed and closed files get runit\'s 0744, current 0644 while written', { skip, timeout: 30000 }, async () => {
  const input = 'one line of the log\n'.repeat(30);
  await compare([], ['s100\n'], input);
  await compare([], ['s100\n!cat\n'], input);
  await compare([], [null], input);
});

test('an unfinished current from a killed svlogd is kept as .u', { skip, timeout: 30000 }, async () => {
  await compare([], [null], 'new\n', (d) => {
    fs.writeFileSync(path.join(d, 'current'), 'left over\n', { mode: 0o644 });
  });
  await compare([], [null], 'more\n', (d) => {
    fs.writeFileSync(path.join(d, 'current'), 'finished\n', { mode: 0o744 });
  });
});

test('usage and unusable directories', { skip, timeout: 30000 }, async () => {
  await compare(['-l', '2000'], [null], 'x\n');
  await compare(['-r'], [null], 'x\n');
});
