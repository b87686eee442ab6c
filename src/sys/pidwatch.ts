// Processes that are not this process's children (a dead supervisor's
// orphans, adopted), watched to their end through pidfds (pidfd_open(2)): a
// pidfd becomes readable when its process ends, and every one is waited on
// by the one epoll set of sys/readable.ts. Nothing runs while none is watched.
// Their exit status is not to be had: only their parent (init) learns it.
import fs from 'node:fs';
import { pidfdOpen } from './libc.js';
import { cancel, whenReadable } from './readable.js';

const fdOf = new Map<number, number>();

/** Call `onEnd` (on a later turn) once `pid` has ended. False if it cannot be watched (it is gone already). */
export function watch(pid: number, onEnd: () => void): boolean {
  let fd: number;
  try {
    fd = pidfdOpen(pid);
  } catch {
    return false;
  }
  fdOf.set(pid, fd);
  whenReadable(fd, () => {
    if (fdOf.get(pid) === fd) fdOf.delete(pid);
    close(fd);
    onEnd();
  });
  return true;
}

/** Stop watching `pid`; nobody is told of its end. */
export function unwatch(pid: number): void {
  const fd = fdOf.get(pid);
  if (fd === undefined) return;
  fdOf.delete(pid);
  cancel(fd);
  close(fd);
}

function close(fd: number): void {
  try { fs.closeSync(fd); } catch { /* closed */ }
}
