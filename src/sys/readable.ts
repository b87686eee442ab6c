// Waiting until descriptors can be read (or are hung up) without reading
// them: one poll(2) for all of them on one worker thread, woken through a
// pipe when the set changes. A process may wait on thousands this way (the
// runsvdir host, one log pipe per logger it runs) where one worker each
// would run out of threads. Nothing runs while nothing is waited for.
import { AsyncResource } from 'node:async_hooks';
import fs from 'node:fs';
import { pipe, pollIn, setNonblock } from './libc.js';

interface Wait { ready: () => void; scope: AsyncResource }

const waits = new Map<number, Wait>();
let wake: [number, number] | null = null;
let polling = false;
/** The poll under way has been told to stop (one byte for any number of changes). */
let woken = false;

/** Call `ready` once, on a later turn, when `fd` can be read or is hung up. One wait per fd. */
export function whenReadable(fd: number, ready: () => void): void {
  waits.set(fd, { ready, scope: new AsyncResource('runit-readable') });
  rearm();
}

/** Stop waiting on `fd` (before it is closed): nobody is told. */
export function cancel(fd: number): void {
  if (waits.delete(fd)) rearm();
}

function rearm(): void {
  if (polling) {
    if (woken) return; // it comes back soon and polls for what is waited for then
    woken = true;
    try { fs.writeSync(wake![1], 'x'); } catch { /* a byte is there already (EAGAIN) */ }
    return;
  }
  if (waits.size === 0) return;
  if (!wake) {
    wake = pipe();
    setNonblock(wake[0], true);
    setNonblock(wake[1], true);
  }
  const fds = [wake[0], ...waits.keys()];
  polling = true;
  pollIn(fds, (err, ready) => {
    polling = false;
    woken = false;
    if (err) { setImmediate(rearm); return; } // EINTR and the like: poll again
    if (ready.includes(wake![0])) {
      try { fs.readSync(wake![0], Buffer.alloc(64)); } catch { /* drained */ }
    }
    for (const fd of ready) {
      const w = waits.get(fd);
      if (!w) continue;
      waits.delete(fd);
      // each in its own turn and context, as sys/children.ts reports a child's end
      w.scope.runInAsyncScope(() => setImmediate(w.ready));
    }
    rearm();
  });
}
