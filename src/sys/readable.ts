// Waiting until descriptors can be read (or are hung up) without reading
// them: one epoll set, waited on by one worker thread. A process may wait on
// thousands this way (the runsvdir host: every control FIFO, one log pipe per
// logger it runs) where one worker each would run out of threads, and a wait
// begun or ended costs one epoll_ctl, whatever the number of others (a poll(2)
// set would be rebuilt at each change). Nothing runs while nothing is waited
// for: the worker is woken through a pipe in the set when the last wait ends.
import { AsyncResource } from 'node:async_hooks';
import fs from 'node:fs';
import { EPOLL, epollCreate, epollCtl, epollWaitAsync, pipe, setNonblock } from './libc.js';

interface Wait { ready: () => void; scope: AsyncResource; tag: number }

const waits = new Map<number, Wait>();
let ep = -1;
let wake: [number, number] | null = null;
/** An epoll_wait under way on a worker thread. */
let waiting = false;
/** Each wait's own number, in its events: one for an fd closed and opened again since is not its. */
let tags = 0;
const WAKE = -1;
const MAX_EVENTS = 256;

/** Call `ready` once, on a later turn, when `fd` can be read or is hung up. One wait per fd. */
export function whenReadable(fd: number, ready: () => void): void {
  if (ep < 0) {
    ep = epollCreate();
    wake = pipe();
    setNonblock(wake[0], true);
    setNonblock(wake[1], true);
    epollCtl(ep, EPOLL.CTL_ADD, wake[0], EPOLL.IN, WAKE);
  }
  if (waits.has(fd)) drop(fd);
  const tag = tags = (tags + 1) & 0x7fffffff;
  const scope = new AsyncResource('runit-readable');
  try {
    epollCtl(ep, EPOLL.CTL_ADD, fd, EPOLL.IN, tag);
  } catch {
    // not a thing epoll waits on (a regular file is always readable), or closed: the reader finds out
    scope.runInAsyncScope(() => setImmediate(ready));
    return;
  }
  waits.set(fd, { ready, scope, tag });
  loop();
}

/** Stop waiting on `fd` (before it is closed): nobody is told. */
export function cancel(fd: number): void {
  if (!waits.has(fd)) return;
  drop(fd);
  // the worker stops once nothing is waited for
  if (waits.size === 0 && waiting) {
    try { fs.writeSync(wake![1], 'x'); } catch { /* a byte is there already (EAGAIN) */ }
  }
}

function drop(fd: number): void {
  waits.delete(fd);
  try { epollCtl(ep, EPOLL.CTL_DEL, fd, 0, 0); } catch { /* closed already: the kernel dropped it */ }
}

function loop(): void {
  if (waiting || waits.size === 0) return;
  waiting = true;
  epollWaitAsync(ep, MAX_EVENTS, (err, ready) => {
    waiting = false;
    if (err) { setImmediate(loop); return; } // EINTR and the like: wait again
    for (const { fd, tag } of ready) {
      if (tag === WAKE) {
        try { fs.readSync(wake![0], Buffer.alloc(64)); } catch { /* drained */ }
        continue;
      }
      const w = waits.get(fd);
      if (!w || w.tag !== tag) continue; // cancelled (and the fd maybe used again) meanwhile
      drop(fd);
      // each in its own turn and context, as sys/children.ts reports a child's end
      w.scope.runInAsyncScope(() => setImmediate(w.ready));
    }
    loop();
  });
}
