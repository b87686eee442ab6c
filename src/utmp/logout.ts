// utmpset's two jobs (man utmpset): mark the line's record in utmp as logged
// out, and with -w append a logout record for it to wtmp. Each file is locked
// (flock, exclusive) while it is changed, as runit does.
import fs from 'node:fs';
import { flock, LOCK_EX } from '../sys/libc.js';
import { deadRecord, hasUser, line, logout, SIZE } from './record.js';

export const UTMP = '/var/run/utmp';
export const WTMP = '/var/log/wtmp';

export class UtmpError extends Error {
  constructor(readonly what: string, readonly cause?: unknown) { super(what); }
}

const now = (): number => Math.floor(Date.now() / 1000);

/** True if a record for `name` was found and marked; throws UtmpError when the file fails us. */
export function utmpLogout(name: Buffer, file = UTMP): boolean {
  let fd: number;
  try {
    fd = fs.openSync(file, fs.constants.O_RDWR);
  } catch (e) {
    throw new UtmpError(`unable to open ${file}`, e);
  }
  try {
    try { flock(fd, LOCK_EX); } catch (e) { throw new UtmpError(`unable to lock: ${file}`, e); }
    const rec = Buffer.alloc(SIZE);
    for (let pos = 0; ; pos += SIZE) {
      if (fs.readSync(fd, rec, 0, SIZE, pos) !== SIZE) return false;
      if (!hasUser(rec) || !line(rec).equals(name)) continue;
      logout(rec, now());
      return fs.writeSync(fd, rec, 0, SIZE, pos) === SIZE;
    }
  } catch (e) {
    if (e instanceof UtmpError) throw e;
    return false; // runit gives up the same way when a read or write fails
  } finally {
    fs.closeSync(fd);
  }
}

/** Append the logout record for `name` to wtmp. */
export function wtmpLogout(name: Buffer, file = WTMP): void {
  const c = fs.constants;
  let fd: number;
  try {
    fd = fs.openSync(file, c.O_WRONLY | c.O_CREAT | c.O_APPEND | c.O_NONBLOCK, 0o600);
  } catch (e) {
    throw new UtmpError(`unable to open ${file}`, e);
  }
  try {
    try { flock(fd, LOCK_EX); } catch (e) { throw new UtmpError(`unable to lock ${file}`, e); }
    const rec = deadRecord(name, now());
    if (fs.writeSync(fd, rec) !== SIZE) throw new UtmpError('short write');
  } finally {
    fs.closeSync(fd);
  }
}
