// -l / -L and setlock(8): open the file for appending (creating it 0600) and
// take an exclusive flock on it, waiting or not. The fd goes on to the program,
// which holds the lock for its life.
import fs from 'node:fs';
import { flock, LOCK_EX, LOCK_NB } from '../sys/libc.js';

export class LockError extends Error {
  constructor(readonly what: 'unable to open lock' | 'unable to lock', readonly cause: unknown) { super(what); }
}

export function takeLock(file: string, wait: boolean): number {
  const c = fs.constants;
  let fd: number;
  try {
    fd = fs.openSync(file, c.O_WRONLY | c.O_NONBLOCK | c.O_APPEND | c.O_CREAT, 0o600);
  } catch (e) {
    throw new LockError('unable to open lock', e);
  }
  try {
    flock(fd, wait ? LOCK_EX : LOCK_EX | LOCK_NB);
  } catch (e) {
    throw new LockError('unable to lock', e);
  }
  return fd;
}
