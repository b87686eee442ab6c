// Children started (clonespawn.ts where it can, else posix_spawn: libc.spawn)
// and reaped here. On SIGCHLD
// every ended child of the process is reaped with waitpid(-1), as runsv's
// wait_nohang loop does, so nothing is left a zombie, not even a child
// nobody watches. A process that uses this must not also use
// node:child_process: its children's statuses would be taken here.
import { AsyncResource } from 'node:async_hooks';
import fs from 'node:fs';
import * as clone from './clonespawn.js';
import { kill, reapOne, spawn, spawnAsync, type SpawnOptions } from './libc.js';
import * as unwaited from './unwaited.js';

/**
 * How a child ended: `code` if it exited, else null and `sig`; `status` is
 * the raw wait status. `failed`: a child startAsync did not wait for could
 * not exec (then code 111, as runsv's child exits when its exec fails).
 */
export type OnExit = (code: number | null, sig: number, status: number, failed?: Error) => void;

interface Watch {
  onExit: OnExit;
  /** The async context start() was called in: the SIGCHLD listener has the first child's. */
  scope: AsyncResource;
  forgotten: boolean;
}

const watched = new Map<number, Watch>();
/**
 * Spawns on a worker thread not yet answered: a child of theirs may end (and
 * be reaped) before its pid is known here, so what is reaped meanwhile and
 * watched by nobody is kept until they are all answered.
 */
let inFlight = 0;
const early = new Map<number, number>();
let armed = false;
/** Keeps the process alive while it waits for a child, as a ChildProcess does (a signal listener does not). */
let waiting: NodeJS.Timeout | null = null;

function watching(): void {
  if (watched.size > 0 && !waiting) waiting = setInterval(() => { /* only held */ }, 2 ** 30);
  else if (watched.size === 0 && waiting) { clearInterval(waiting); waiting = null; }
}

function sweep(): void {
  for (let r = reapOne(); r; r = reapOne()) {
    const w = watched.get(r.pid);
    if (w) ended(r.pid, w, r.status);
    else {
      unwaited.failedExec(r.pid); // a child forgotten: nothing kept for its pid, given again later
      if (inFlight > 0) early.set(r.pid, r.status);
    }
  }
}

function ended(pid: number, w: Watch, status: number): void {
  watched.delete(pid);
  watching();
  // (asked whether the burst is still on or not: such a child may end after it)
  const failed = unwaited.failedExec(pid);
  if (failed) status = 111 << 8;
  const sig = status & 0x7f;
  const code = sig === 0 ? (status >> 8) & 0xff : null;
  // Each in its own turn and context: one that throws neither stops the
  // reaping nor is taken for another child's owner (uncaughtException).
  w.scope.runInAsyncScope(() => setImmediate(() => { if (!w.forgotten) w.onExit(code, sig, status, failed); }));
}

function arm(): void {
  if (!armed) {
    armed = true;
    process.on('SIGCHLD', sweep);
  }
}

/**
 * Start `path` and call `onExit` when it ends. Throws what the exec (or a step
 * before it: chdir, a dup) failed with, as posix_spawn reports it.
 * The handler is in place before the first child exists; a child that ends at
 * once is reaped on the next turn of the event loop, after this has returned.
 */
export function start(path: string, argv: string[], opts: SpawnOptions, onExit: OnExit): number {
  return startWith(true, path, argv, opts, onExit);
}

/**
 * start() with posix_spawn: for a process that starts a child or two in its
 * life (runsvdir its host), where clonespawn.ts's set-up (its code, its
 * memory and fds, ~1.5 ms) costs more than it saves on a small fd table.
 */
export function startPosix(path: string, argv: string[], opts: SpawnOptions, onExit: OnExit): number {
  return startWith(false, path, argv, opts, onExit);
}

function startWith(viaClone: boolean, path: string, argv: string[], opts: SpawnOptions, onExit: OnExit): number {
  arm();
  const env = opts.env ?? process.env;
  const pid = (viaClone && clone.start(path, argv, env, opts)) || spawn(path, argv, env, opts);
  watched.set(pid, { onExit, scope: new AsyncResource('runit-child'), forgotten: false });
  watching();
  return pid;
}

/**
 * A child this process did not start here (runsvdir's host, started by its
 * launcher before this process's exec): watched from now on, and reaped at
 * once if it has already ended (its SIGCHLD came before any handler).
 */
export function adopt(pid: number, onExit: OnExit): void {
  arm();
  watched.set(pid, { onExit, scope: new AsyncResource('runit-child'), forgotten: false });
  watching();
  sweep();
}

/**
 * start(), with the spawn on a worker thread (libc.spawnAsync): `started`
 * gets the pid (or the error, and onExit is never called), on a later turn
 * of the event loop; `onExit` comes after `started`, even for a child that
 * ended at once. The fds in opts.dup must stay open until `started`.
 */
export function startAsync(path: string, argv: string[], opts: SpawnOptions,
  started: (err: unknown, pid: number) => void, onExit: OnExit): void {
  arm();
  if (now && startedNow(path, argv, opts, started, onExit)) return;
  queue.push({ path, argv, opts, started, onExit, scope: new AsyncResource('runit-child') });
  next();
}

interface Pending {
  path: string; argv: string[]; opts: SpawnOptions;
  started: (err: unknown, pid: number) => void; onExit: OnExit; scope: AsyncResource;
}

/**
 * At most this many spawns on worker threads at once (libuv has four; koffi
 * refuses more than a few dozen calls under way): the others wait in turn.
 */
const AT_ONCE = 3;
const queue: Pending[] = [];
let head = 0;

function next(): void {
  while (inFlight < AT_ONCE && head < queue.length) {
    const p = queue[head++]!;
    if (head === queue.length) { queue.length = 0; head = 0; }
    launch(p);
  }
}

function launch(p: Pending): void {
  inFlight++;
  const env = p.opts.env ?? process.env;
  const posix = (): void => spawnAsync(p.path, p.argv, env, p.opts, started);
  if (!clone.startAsync(p.path, p.argv, env, p.opts, started, posix)) posix();
  function started(err: unknown, pid: number): void {
    inFlight--;
    next();
    if (err) {
      if (inFlight === 0) early.clear();
      p.scope.runInAsyncScope(() => p.started(err, 0));
      return;
    }
    const w: Watch = { onExit: p.onExit, scope: p.scope, forgotten: false };
    watched.set(pid, w);
    watching();
    p.scope.runInAsyncScope(() => p.started(null, pid));
    // Reaped before it was known: a status kept for a pid that is alive is
    // an older child's whose pid was given again, not this one's. (No sweep
    // here: a waitpid looks at every child, and one that ends from now on is
    // reaped on its SIGCHLD.)
    const status = early.get(pid);
    early.delete(pid);
    if (inFlight === 0) early.clear();
    if (status !== undefined && !kill(pid, 0)) ended(pid, w, status);
  }
}

/** Is a child startAsync() was asked for still to be started, or to exec? */
export function starting(): boolean {
  return inFlight > 0 || head < queue.length || unwaited.pending();
}

/** startAsync() does not wait for the exec while this is on (unwaited.ts). */
let now = false;
let trimming: NodeJS.Timeout | null = null;

/**
 * Start children without waiting for their exec (on), or wait again (off:
 * the memory that took is given back once every such child has exec'd).
 */
export function startUnwaited(on: boolean): void {
  now = on;
  if (on || trimming) return;
  const trim = (): void => {
    trimming = unwaited.trim() ? null : setTimeout(trim, 100).unref();
  };
  trim();
}

/**
 * startAsync(), the child started at once on this thread (unwaited.ts):
 * false if it cannot be so. A ./run that does not exist or may not be run
 * is left to the waiting start, which tells at once (the common mistakes);
 * any other failed exec comes with the child's exit.
 */
function startedNow(path: string, argv: string[], opts: SpawnOptions,
  started: (err: unknown, pid: number) => void, onExit: OnExit): boolean {
  try {
    fs.accessSync(path.startsWith('/') ? path : `${opts.cwd}/${path}`, fs.constants.X_OK);
  } catch {
    return false;
  }
  const scope = new AsyncResource('runit-child');
  let pid: number | false;
  try {
    pid = unwaited.startNow(path, argv, opts.env ?? process.env, opts);
  } catch (e) {
    setImmediate(() => scope.runInAsyncScope(() => started(e, 0)));
    return true;
  }
  if (pid === false) return false;
  const child = pid;
  watched.set(child, { onExit, scope, forgotten: false });
  watching();
  setImmediate(() => scope.runInAsyncScope(() => started(null, child)));
  return true;
}

/** Stop watching a child: it is still reaped when it ends, and nobody is told. */
export function forget(pid: number): void {
  const w = watched.get(pid);
  if (w) w.forgotten = true;
  watched.delete(pid);
  watching();
}

