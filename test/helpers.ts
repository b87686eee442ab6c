// Shared test fixtures: temporary service directories, supervisors started and
// always cleaned up by pid, and a way to wait for a condition without asserting
// on time.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');
export const bin = (name: string): string => path.join(root, 'bin', name);

/** The reference runit programs, when installed (apt-get install runit). */
export function ref(name: string): string | null {
  for (const d of ['/usr/bin', '/usr/sbin', '/bin', '/sbin']) {
    const p = path.join(d, name);
    if (fs.existsSync(p)) return p;
  }
  return null;
}
export const haveRef = ref('runsv') !== null && ref('sv') !== null;
export const noRef = haveRef ? false : 'reference runit not installed (apt-get install runit)';

const made: string[] = [];
// Each test file runs in its own process: its directories go when it does
// (its processes were stopped by then, by pid).
process.on('exit', () => {
  for (const d of made) {
    try { fs.rmSync(d, { recursive: true, force: true }); } catch { /* leave it */ }
  }
});

/** A fresh directory under $TMPDIR, removed when the test file's process exits. */
export function tmpdir(prefix = 'runit-ts-'): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  made.push(d);
  return d;
}

/** Write an executable script. */
export function script(file: string, body: string): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, `#!/bin/sh\n${body}\n`, { mode: 0o755 });
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Wait until `cond` holds; fail with `what` after a generous limit (not a timing assertion). */
export async function until(what: string, cond: () => boolean, limitMs = 15000): Promise<void> {
  const end = Date.now() + limitMs;
  for (;;) {
    let ok = false;
    try { ok = cond(); } catch { ok = false; }
    if (ok) return;
    if (Date.now() > end) throw new Error(`gave up waiting for: ${what}`);
    await sleep(20);
  }
}

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  // a zombie is not alive for our purposes
  try {
    return !/^State:\s+Z/m.test(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return false;
  }
}

/**
 * The children of `pid`: those of each of its threads (a child started from
 * a worker thread, as the supervisors' ./run are, is listed under that thread).
 */
export function childrenOf(pid: number): number[] {
  const out: number[] = [];
  let tasks: string[] = [];
  try { tasks = fs.readdirSync(`/proc/${pid}/task`); } catch { /* gone */ }
  for (const t of tasks) {
    try {
      out.push(...fs.readFileSync(`/proc/${pid}/task/${t}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number));
    } catch { /* thread gone */ }
  }
  return out;
}

/** Every pid whose parent is `pid`, recursively. */
export function descendants(pid: number): number[] {
  const out: number[] = [];
  for (const c of childrenOf(pid)) out.push(c, ...descendants(c));
  return out;
}

export interface Supervisor {
  child: ChildProcess;
  pid: number;
  stderr: () => string;
  exited: Promise<number | null>;
  /**
   * The exit code once standard error is closed too, so `stderr()` is whole
   * (at `exited` the last bytes may still be unread). Only for a supervisor
   * that leaves no child holding its standard error.
   */
  closed: Promise<number | null>;
}

const started: Supervisor[] = [];

/** Start a supervisor program (ours or the reference) and remember it for cleanup. */
export function startSupervisor(program: string, args: string[], cwd?: string): Supervisor {
  const child = spawn(program, args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (d: Buffer) => { err += d.toString(); });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const closed = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  const s: Supervisor = { child, pid: child.pid!, stderr: () => err, exited, closed };
  started.push(s);
  return s;
}

/**
 * Stop a supervisor and everything under it: TERM (runsv treats it as exit),
 * a grace period, then KILL for whatever is left, children first.
 */
export async function stopSupervisor(s: Supervisor): Promise<void> {
  if (s.child.exitCode === null && s.child.signalCode === null) {
    const kids = descendants(s.pid);
    try { process.kill(s.pid, 'SIGTERM'); } catch { /* gone */ }
    const done = await Promise.race([s.exited.then(() => true), sleep(3000).then(() => false)]);
    for (const k of [...descendants(s.pid), ...kids]) {
      try { process.kill(k, 'SIGKILL'); } catch { /* gone */ }
    }
    if (!done) {
      try { process.kill(s.pid, 'SIGKILL'); } catch { /* gone */ }
      await s.exited;
    }
  }
  const i = started.indexOf(s);
  if (i >= 0) started.splice(i, 1);
}

export async function stopAll(): Promise<void> {
  for (const s of [...started]) await stopSupervisor(s);
}

/** Kill pids that a test knows about (e.g. from supervise/pid) if still there. */
export function reap(pids: number[]): void {
  for (const p of pids) {
    if (p > 1) try { process.kill(p, 'SIGKILL'); } catch { /* gone */ }
  }
}

export interface Ran { out: string; err: string; code: number | null }

export function run(program: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Ran {
  const r = spawnSync(program, args, { cwd: opts.cwd, env: opts.env ?? process.env, encoding: 'utf8' });
  return { out: r.stdout, err: r.stderr, code: r.status };
}

export function read(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

export function statusBytes(dir: string): Buffer {
  return fs.readFileSync(path.join(dir, 'supervise/status'));
}

export function pidOf(dir: string): number {
  return parseInt(read(path.join(dir, 'supervise/pid')), 10) || 0;
}

/** Normalize sv output for comparison: pids and ages vary from run to run. */
export function normalize(s: string): string {
  return s.replace(/\(pid \d+\)/g, '(pid N)').replace(/ \d+s\b/g, ' Ns');
}

/** Wait until the process `pid` has exec'd `comm` (e.g. a ./run's `trap ...; exec sleep` got past its trap). */
export async function execd(pid: number, comm = 'sleep'): Promise<void> {
  await until(`pid ${pid} running ${comm}`, () => fs.readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === comm);
}
