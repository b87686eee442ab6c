// Children started with posix_spawn (libc.spawn) and reaped here. On SIGCHLD
// every ended child of the process is reaped with waitpid(-1), as runsv's
// wait_nohang loop does, so nothing is left a zombie, not even a child
// nobody watches. A process that uses this must not also use
// node:child_process: its children's statuses would be taken here.
import { AsyncResource } from 'node:async_hooks';
import { reapOne, spawn, type SpawnOptions } from './libc.js';

/** How a child ended: `code` if it exited, else null and `sig`; `status` is the raw wait status. */
export type OnExit = (code: number | null, sig: number, status: number) => void;

interface Watch {
  onExit: OnExit;
  /** The async context start() was called in: the SIGCHLD listener has the first child's. */
  scope: AsyncResource;
  forgotten: boolean;
}

const watched = new Map<number, Watch>();
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
    if (!w) continue;
    watched.delete(r.pid);
    watching();
    const sig = r.status & 0x7f;
    const code = sig === 0 ? (r.status >> 8) & 0xff : null;
    // Each in its own turn and context: one that throws neither stops the
    // reaping nor is taken for another child's owner (uncaughtException).
    const status = r.status;
    w.scope.runInAsyncScope(() => setImmediate(() => { if (!w.forgotten) w.onExit(code, sig, status); }));
  }
}

/**
 * Start `path` and call `onExit` when it ends. Throws what posix_spawn throws.
 * The handler is in place before the first child exists; a child that ends at
 * once is reaped on the next turn of the event loop, after this has returned.
 */
export function start(path: string, argv: string[], opts: SpawnOptions, onExit: OnExit): number {
  if (!armed) {
    armed = true;
    process.on('SIGCHLD', sweep);
  }
  const pid = spawn(path, argv, opts.env ?? process.env, opts);
  watched.set(pid, { onExit, scope: new AsyncResource('runit-child'), forgotten: false });
  watching();
  return pid;
}

/** Stop watching a child: it is still reaped when it ends, and nobody is told. */
export function forget(pid: number): void {
  const w = watched.get(pid);
  if (w) w.forgotten = true;
  watched.delete(pid);
  watching();
}

