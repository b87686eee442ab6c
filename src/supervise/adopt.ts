// A supervisor that died (kill -9) leaves its ./run (and its log's) running,
// orphaned; supervise/status names them. The next supervisor of the directory
// takes them over instead of starting a second instance: it checks that the
// pid is still that process (started when status says it was), watches it to
// its end (sys/pidwatch.ts), and holds the log pipe they share again.
import fs from 'node:fs';
import { setNonblock } from '../sys/libc.js';
import * as tai from '../sys/tai64n.js';
import * as status from './status.js';
import { STATE } from './status.js';

/** /proc reports times in USER_HZ, 100 on every Linux. */
const USER_HZ = 100;
/** How far a process's start may be from the time status records for it (s). */
const SLACK = 2;

export interface Orphan { pid: number; status: status.Status }

/**
 * What status in `sup` says is running, if that pid is still that process
 * (not a zombie, started when status says ./run started, or later for
 * ./finish, which keeps ./run's time, and then in `dir`, where ./finish
 * runs). Null when there is none to take over.
 */
export function orphan(sup: string, dir: string): Orphan | null {
  let s: status.Status;
  if (!fs.existsSync(`${sup}/status`)) return null; // a fresh directory: no exception for it
  try {
    s = status.read(sup);
  } catch {
    return null;
  }
  if (s.state === STATE.down || s.pid <= 1) return null;
  const p = processTimes(s.pid);
  if (p === null) return null;
  const when = tai.toUnix(s.when);
  if (when < p.boot) return null; // written before this boot (supervise/ on disk)
  if (p.started < when - SLACK) return null;
  if (s.state === STATE.run && p.started > when + SLACK) return null;
  // ./finish started some time after that: it must also be in the service directory
  if (s.state === STATE.finish && !sameDir(`/proc/${s.pid}/cwd`, dir)) return null;
  return { pid: s.pid, status: s };
}

/** When the process and the system started (Unix seconds), or null if it is gone or a zombie. */
function processTimes(pid: number): { started: number; boot: number } | null {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'latin1');
    const f = stat.slice(stat.lastIndexOf(') ') + 2).split(' '); // f[0] is field 3, the state
    if (f[0] === 'Z' || f[0] === 'X') return null;
    const uptime = Number(fs.readFileSync('/proc/uptime', 'latin1').split(' ')[0]);
    const boot = Date.now() / 1000 - uptime;
    return { started: boot + Number(f[19]) / USER_HZ, boot }; // field 22, starttime
  } catch {
    return null;
  }
}

function sameDir(a: string, b: string): boolean {
  try {
    const x = fs.statSync(a);
    const y = fs.statSync(b);
    return x.dev === y.dev && x.ino === y.ino;
  } catch {
    return false;
  }
}

/**
 * The pipe on `fd` of process `pid` (Linux opens /proc/PID/fd/N of a pipe as
 * that same pipe): its read and write ends, blocking and close-on-exec, as
 * the supervisor holds a log pipe. Null if that fd is not a pipe.
 */
export function pipeOf(pid: number, fd: number): [number, number] | null {
  const file = `/proc/${pid}/fd/${fd}`;
  const { O_RDONLY, O_WRONLY, O_NONBLOCK } = fs.constants;
  let r = -1;
  try {
    if (!fs.readlinkSync(file).startsWith('pipe:')) return null;
    // non-blocking, or the open would wait for a peer; then blocking, as pipe() makes them
    r = fs.openSync(file, O_RDONLY | O_NONBLOCK);
    const w = fs.openSync(file, O_WRONLY | O_NONBLOCK);
    setNonblock(r, false);
    setNonblock(w, false);
    return [r, w];
  } catch {
    if (r >= 0) try { fs.closeSync(r); } catch { /* closed */ }
    return null;
  }
}
