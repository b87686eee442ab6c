// One utmp/wtmp record as glibc lays it out on Linux x86-64 and most 64-bit
// ports (utmp(5)): 384 bytes, the fields utmpset touches at fixed offsets.
export const SIZE = 384;
export const DEAD_PROCESS = 8;

const TYPE = 0; // short
const LINE = 8; // char[32]
const LINE_LEN = 32;
const USER = 44; // char[32]
const HOST = 76; // char[256]
const HOST_END = 332;
const TV_SEC = 340; // int32

/** The line name stored in a record (up to its first NUL). */
export function line(rec: Buffer): Buffer {
  const f = rec.subarray(LINE, LINE + LINE_LEN);
  const nul = f.indexOf(0);
  return nul < 0 ? f : f.subarray(0, nul);
}

export function hasUser(rec: Buffer): boolean {
  return rec[USER] !== 0;
}

/** Mark a utmp record logged out, as runit's utmpset does: dead, no user, no host, the time now. */
export function logout(rec: Buffer, now: number): void {
  rec.fill(0, USER, USER + 32);
  rec.fill(0, HOST, HOST_END);
  rec.writeInt16LE(DEAD_PROCESS, TYPE);
  rec.writeInt32LE(now | 0, TV_SEC);
}

/** The empty wtmp record for `name` that says its line logged out. */
export function deadRecord(name: Buffer, now: number): Buffer {
  const rec = Buffer.alloc(SIZE);
  rec.writeInt16LE(DEAD_PROCESS, TYPE);
  name.copy(rec, LINE, 0, Math.min(name.length, LINE_LEN));
  rec.writeInt32LE(now | 0, TV_SEC);
  return rec;
}
