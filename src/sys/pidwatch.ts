// Processes that are not this process's children (a dead supervisor's
// orphans, adopted), watched to their end through pidfds (pidfd_open(2)):
// one poll(2) for all of them on a worker thread, woken through a pipe when
// the set changes. Nothing runs while none is watched. Their exit status is
// not to be had: only their parent (init) learns it.
import { AsyncResource } from 'node:async_hooks';
import fs from 'node:fs';
import { pidfdOpen, pipe, pollIn, setNonblock } from './libc.js';

interface Watch { pid: number; onEnd: () => void; scope: AsyncResource }

const byFd = new Map<number, Watch>();
let wake: [number, number] | null = null;
let polling = false;

/** Call `onEnd` (on a later turn) once `pid` has ended. False if it cannot be watched (it is gone already). */
export function watch(pid: number, onEnd: () => void): boolean {
  let fd: number;
  try {
    fd = pidfdOpen(pid);
  } catch {
    return false;
  }
  byFd.set(fd, { pid, onEnd, scope: new AsyncResource('runit-adopted') });
  rearm();
  return true;
}

/** Stop watching `pid`; nobody is told of its end. */
export function unwatch(pid: number): void {
  for (const [fd, w] of byFd) {
    if (w.pid !== pid) continue;
    byFd.delete(fd);
    close(fd);
    rearm();
  }
}

function rearm(): void {
  if (polling) {
    try { fs.writeSync(wake![1], 'x'); } catch { /* a byte is there already (EAGAIN) */ }
    return;
  }
  if (byFd.size === 0) return;
  if (!wake) {
    wake = pipe();
    setNonblock(wake[0], true);
    setNonblock(wake[1], true);
  }
  const fds = [wake[0], ...byFd.keys()];
  polling = true;
  pollIn(fds, (err, ready) => {
    polling = false;
    if (err) { setImmediate(rearm); return; } // EINTR and the like: poll again
    if (ready.includes(wake![0])) {
      try { fs.readSync(wake![0], Buffer.alloc(64)); } catch { /* drained */ }
    }
    for (const fd of ready) {
      const w = byFd.get(fd);
      if (!w) continue;
      byFd.delete(fd);
      close(fd);
      // each in its own turn and context, as sys/children.ts reports a child's end
      w.scope.runInAsyncScope(() => setImmediate(w.onEnd));
    }
    rearm();
  });
}

function close(fd: number): void {
  try { fs.closeSync(fd); } catch { /* closed */ }
}
