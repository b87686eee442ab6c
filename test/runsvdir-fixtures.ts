// Fixtures for the runsvdir tests: a service tree, runsvdir (ours or runit's)
// started on it, its supervision host found, and everything cleaned up by pid.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import * as control from '../src/supervise/control.js';
import * as status from '../src/supervise/status.js';
import { alive, bin, childrenOf, descendants, ref, reap, script, sleep, tmpdir, until } from './helpers.js';

/** The sv used to look at services: runit's (proves the protocol) or ours. */
export const sv = ref('sv') ?? bin('sv');

export function tree(names: string[], run = 'exec sleep 1000'): string {
  const dir = path.join(tmpdir('runsvdir-'), 'service');
  fs.mkdirSync(dir);
  for (const n of names) script(path.join(dir, n, 'run'), run);
  return dir;
}

export function state(svc: string): status.Status | null {
  try {
    return status.read(path.join(svc, 'supervise'));
  } catch {
    return null;
  }
}

export const isRunning = (svc: string): boolean => {
  const s = state(svc);
  return s !== null && s.state === status.STATE.run && s.pid > 0 && alive(s.pid);
};

/** Is a supervisor holding supervise/ok (what sv calls "runsv running")? */
export const supervised = (svc: string): boolean => {
  try {
    return control.running(path.join(svc, 'supervise'));
  } catch {
    return false;
  }
};

export interface Dir {
  child: ChildProcess;
  pid: number;
  dir: string;
  stderr: () => string;
  exited: Promise<number | null>;
  /** Every pid seen under runsvdir (supervisors and services) and its start time, for the cleanup. */
  seen: Map<number, string>;
}

const live: Dir[] = [];

/** `program` may be a bare name looked up in `env.PATH`, so argv[0] is what runit prints. */
export function runsvdir(program: string, args: string[], dir: string, env?: NodeJS.ProcessEnv): Dir {
  const child = spawn(program, args, { stdio: ['ignore', 'ignore', 'pipe'], env: env ?? process.env });
  let err = '';
  child.stderr!.on('data', (d: Buffer) => { err += d.toString(); });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const d: Dir = { child, pid: child.pid!, dir, stderr: () => err, exited, seen: new Map() };
  live.push(d);
  return d;
}

/** Remember every process under runsvdir now (call while it runs). */
export function note(d: Dir): number[] {
  const pids = descendants(d.pid);
  for (const p of pids) {
    const t = started(p);
    if (t) d.seen.set(p, t);
  }
  return pids;
}

/** A process's start time (field 22 of /proc/PID/stat): tells a pid from its reuse. */
function started(pid: number): string {
  try {
    return fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')[19]!;
  } catch {
    return '';
  }
}

/** KILL the pids that are still the processes we saw (a pid may have been reused since). */
function reapSeen(...known: Map<number, string>[]): void {
  for (const m of known) reap([...m].filter(([p, t]) => t && started(p) === t).map(([p]) => p));
}

const node = fs.realpathSync(process.execPath);

/** Our supervision hosts (node processes) directly under runsvdir. */
export function hosts(d: Dir): number[] {
  note(d);
  // runsvdir's own children: a logger that is a Node process (svlogd) is not
  // one, nor is it taken for one while a killed host's children are let go
  return childrenOf(d.pid).filter((p) => {
    try {
      return fs.readlinkSync(`/proc/${p}/exe`) === node;
    } catch {
      return false;
    }
  });
}

function servicePids(dir: string): number[] {
  const out: number[] = [];
  let names: string[] = [];
  try { names = fs.readdirSync(dir); } catch { /* gone */ }
  for (const n of names) {
    for (const sup of [path.join(dir, n, 'supervise'), path.join(dir, n, 'log/supervise')]) {
      const s = state(path.dirname(sup));
      if (s && s.pid) out.push(s.pid);
    }
  }
  return out;
}

/** Stop runsvdir, tell every service to exit, wait for the supervisors, kill what is left. */
export async function cleanup(d: Dir, also: string[] = []): Promise<void> {
  note(d);
  const pids = [...servicePids(d.dir), ...also.flatMap(servicePids)];
  const services = new Map(pids.map((p) => [p, started(p)] as const));
  if (d.child.exitCode === null && d.child.signalCode === null) {
    try { process.kill(d.pid, 'SIGTERM'); } catch { /* gone */ }
    await d.exited;
  }
  // The exit command to every service until no supervisor is left on any
  // (a host may still be setting one up).
  const svcs: string[] = [];
  for (const base of [d.dir, ...also]) {
    let names: string[] = [];
    try { names = fs.readdirSync(base); } catch { /* gone */ }
    svcs.push(...names.map((n) => path.join(base, n)));
  }
  try {
    await until('every supervision ended', () => {
      let left = false;
      for (const s of svcs) {
        if (!supervised(s)) continue;
        left = true;
        try { control.send(path.join(s, 'supervise'), 'x'); } catch { /* gone meanwhile */ }
      }
      return !left;
    }, 10000);
  } catch { /* killed below */ }
  const supervisors = [...d.seen.keys()].filter((p) => !pids.includes(p));
  try {
    await until('supervisors gone', () => supervisors.every((p) => !alive(p)), 10000);
  } catch { /* killed below */ }
  reapSeen(d.seen, services);
  await sleep(50);
  const i = live.indexOf(d);
  if (i >= 0) live.splice(i, 1);
}

export async function cleanupAll(): Promise<void> {
  for (const d of [...live]) await cleanup(d);
}
