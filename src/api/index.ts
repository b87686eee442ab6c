// The package's API for Node programs: the supervise/ protocol of runsv (ours
// or runit's; daemontools' supervise writes the same status record) through
// the module every program uses. `import { status, send, waitFor, list } from 'runit-ts'`.
// Every type it exports is declared here, so lib/index.d.ts stands alone.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import * as control from '../supervise/control.js';
import { normallyUp } from '../supervise/down.js';
import * as readiness from '../supervise/readiness.js';
import * as runs from '../supervise/record.js';
import * as record from '../supervise/status.js';
import { scan } from '../runsvdir/scan.js';
import * as tai from '../sys/tai64n.js';

/** What a supervised process is doing (byte 19 of supervise/status). */
export type State = 'down' | 'run' | 'finish';

/** One supervised process: the service's ./run (and ./finish), or its log's. */
export interface ProcessStatus {
  state: State;
  /** The pid of ./run (or ./finish), null when neither runs. */
  pid: number | null;
  /** When the state last changed (./finish keeps the time ./run started). */
  since: Date;
  /** What it was last told: up (restarted when it stops), or down (`down`, `once`, `exit`: not restarted). */
  want: 'up' | 'down';
  /** Stopped by `pause` and not yet continued. */
  paused: boolean;
  /** TERM was sent and the process has not exited yet. */
  gotTerm: boolean;
  /** No ./down file: the service starts with its supervisor. */
  normallyUp: boolean;
  /**
   * With ./notification-fd: whether the running ./run said it is ready (and
   * since when). null without notification-fd, or under a supervisor that
   * does not record readiness (runit's runsv).
   */
  ready: boolean | null;
  readySince: Date | null;
  /** From supervise/record (null under runit's runsv, which keeps none): starts of ./run by this supervisor. */
  starts: number | null;
  /** How the last ./run ended: its exit code, or the signal that killed it (the other is null). */
  exitCode: number | null;
  exitSignal: number | null;
  exitedAt: Date | null;
  /** ./finish exited 125: not restarted until told up. */
  permanent: boolean | null;
  /** When the next start is due while the supervisor waits (a second, or longer with ./backoff). */
  nextStart: Date | null;
}

/** A service: its own process and, when it has a log/ directory, the log's. */
export interface ServiceStatus extends ProcessStatus {
  /** The service directory, absolute. */
  dir: string;
  /** The log service's status; null when there is no log/ directory. */
  log: ProcessStatus | null;
}

/** What `send` can tell a supervisor (man runsv: the control bytes). */
export type Command =
  | 'up' | 'down' | 'once' | 'exit'
  | 'pause' | 'cont' | 'hup' | 'alarm' | 'interrupt' | 'quit'
  | 'usr1' | 'usr2' | 'term' | 'kill';

/** The states `waitFor` waits for. */
export type Target = 'up' | 'down';

export interface WaitOptions {
  /** Give up after this many milliseconds: the promise rejects with a `TimeoutError`. */
  timeout?: number;
  /** Give up when it aborts: the promise rejects with `signal.reason`. */
  signal?: AbortSignal;
  /** How often the status is read, in milliseconds (default 20). */
  interval?: number;
  /** For `up`, run an executable ./check, as sv does, and count the service up only once it exits 0 (default true). */
  check?: boolean;
  /** Count only a state entered at or after this time: the time a restart was asked for, say (sv restart does the same). */
  after?: Date;
}

/** No supervisor runs for the directory (`sv`: "runsv not running"). */
export class NotRunningError extends Error {
  readonly code = 'ERR_RUNSV_NOT_RUNNING';
  constructor(readonly dir: string) {
    super(`${dir}: runsv not running`);
    this.name = 'NotRunningError';
  }
}

const bytes: Record<Command, string> = {
  up: 'u', down: 'd', once: 'o', exit: 'x', pause: 'p', cont: 'c', hup: 'h', alarm: 'a',
  interrupt: 'i', quit: 'q', usr1: '1', usr2: '2', term: 't', kill: 'k',
};
const states: State[] = ['down', 'run', 'finish'];

function processStatus(dir: string): ProcessStatus {
  const sup = path.join(dir, 'supervise');
  if (!control.running(sup)) throw new NotRunningError(dir);
  const s = record.read(sup);
  const up = normallyUp(dir);
  if (up instanceof Error) throw up;
  const rec = runs.read(sup);
  const notifies = readiness.notifies(dir);
  const readyAt = notifies && s.pid ? readiness.since(sup) : null;
  const date = (t: number | null | undefined): Date | null => (t == null ? null : new Date(Math.round(t * 1000)));
  return {
    state: states[s.state]!,
    pid: s.pid || null,
    since: new Date(Math.floor(tai.toUnix(s.when) * 1000)),
    want: s.want === 'u' ? 'up' : 'down',
    paused: s.paused,
    gotTerm: s.term,
    normallyUp: up,
    ready: notifies && rec ? readyAt !== null : null,
    readySince: date(readyAt),
    starts: rec ? rec.starts : null,
    exitCode: rec ? rec.exitCode : null,
    exitSignal: rec ? rec.exitSignal : null,
    exitedAt: date(rec?.exitedAt),
    permanent: rec ? rec.permanent : null,
    nextStart: date(rec?.nextStart),
  };
}

/**
 * The status of the service in `dir` and of its log service, read from
 * supervise/ (never blocks: the FIFO is opened non-blocking). Throws
 * `NotRunningError` when no supervisor runs for it, fs errors otherwise.
 */
export function status(dir: string): ServiceStatus {
  const abs = path.resolve(dir);
  const own = processStatus(abs);
  const logDir = path.join(abs, 'log');
  let log: ProcessStatus | null = null;
  try {
    if (fs.statSync(logDir).isDirectory()) log = processStatus(logDir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  return { ...own, dir: abs, log };
}

/**
 * Send commands to the supervisor of `dir`, in order (`send(dir, 'term',
 * 'cont', 'up')` is sv restart's). For the log service, pass `DIR/log`.
 * Throws `NotRunningError` when no supervisor runs for it.
 */
export function send(dir: string, ...commands: Command[]): void {
  const abs = path.resolve(dir);
  let text = '';
  for (const c of commands) {
    const b = bytes[c];
    if (b === undefined) throw new TypeError(`not a command: ${String(c)}`);
    text += b;
  }
  const sup = path.join(abs, 'supervise');
  if (!control.running(sup)) throw new NotRunningError(abs);
  try {
    control.send(sup, text);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENXIO') throw new NotRunningError(abs);
    throw e;
  }
}

/** ./check, if executable, exits 0 (its standard output is not ours, as with sv). */
function checked(dir: string, signal: AbortSignal): Promise<boolean> {
  const file = path.join(dir, 'check');
  try {
    fs.accessSync(file, fs.constants.X_OK);
  } catch {
    return Promise.resolve(true);
  }
  return new Promise((resolve) => {
    const child = execFile(file, [], { cwd: dir, signal }, (err) => resolve(!err));
    child.stdout?.resume();
  });
}

/** Has the service reached `target`, as `sv -v up` / `sv -v down` decide it? */
function reached(s: ServiceStatus, target: Target, after: Date | undefined): boolean {
  if (after && s.since.getTime() < after.getTime()) return false;
  // with notification-fd under our runsv, up means ready (as sv start waits)
  if (target === 'up') return s.want === 'up' && s.state === 'run' && s.pid !== null && s.ready !== false;
  return s.want === 'down' && s.pid === null;
}

/** No supervisor (yet): supervise/ not made, or nobody holding supervise/ok. */
function unsupervised(e: unknown): boolean {
  return e instanceof NotRunningError || (e as NodeJS.ErrnoException).code === 'ENOENT';
}

/**
 * Resolve with the service's status once it is `up` (told up, ./run running,
 * ./check passing) or `down` (told down, nothing running), as `sv -v` waits.
 * A service no supervisor runs for (yet: runsvdir starts it within seconds)
 * is waited for too. Rejects with a `TimeoutError` after `timeout` ms, with
 * `signal.reason` when `signal` aborts, and with the error when the status
 * cannot be read (permission denied, say).
 */
export function waitFor(dir: string, target: Target, options: WaitOptions = {}): Promise<ServiceStatus> {
  if (target !== 'up' && target !== 'down') return Promise.reject(new TypeError(`not a state to wait for: ${String(target)}`));
  const signals = [options.signal, options.timeout === undefined ? undefined : AbortSignal.timeout(options.timeout)]
    .filter((s): s is AbortSignal => s !== undefined);
  const stop = signals.length ? AbortSignal.any(signals) : new AbortController().signal;
  const interval = options.interval ?? 20;
  return new Promise<ServiceStatus>((resolve, reject) => {
    let timer: NodeJS.Timeout | undefined;
    const abort = (): void => { clearTimeout(timer); reject(stop.reason); };
    if (stop.aborted) { abort(); return; }
    stop.addEventListener('abort', abort, { once: true });
    const done = (f: () => void): void => { stop.removeEventListener('abort', abort); clearTimeout(timer); f(); };
    const look = async (): Promise<void> => {
      let s: ServiceStatus;
      try {
        s = status(dir);
        if (reached(s, target, options.after) && (target === 'down' || options.check === false || await checked(s.dir, stop))) {
          if (!stop.aborted) done(() => resolve(s));
          return;
        }
      } catch (e) {
        if (!unsupervised(e)) {
          if (!stop.aborted) done(() => reject(e));
          return;
        }
      }
      if (!stop.aborted) timer = setTimeout(() => void look(), interval);
    };
    void look();
  });
}

/**
 * The services in `dir` as runsvdir sees them: its subdirectories and
 * symlinks to directories, names starting with a dot left out, a directory
 * reached twice counted once; sorted. Throws when `dir` cannot be read.
 */
export function list(dir: string): string[] {
  let failure: unknown;
  const found = scan(path.resolve(dir), new Map(), (_text, e) => { failure ??= e; });
  if (!found) throw failure;
  return [...found.values()].sort();
}
