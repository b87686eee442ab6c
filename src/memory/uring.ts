// madvise calls given later by the kernel, from an io_uring of their own
// (memory/pageout.ts), so that this process sleeps while they run; the ring
// then closes itself.
import fs from 'node:fs';
import { ioUringEnter, ioUringSetup, mmap, munmap, poke } from '../sys/libc.js';

// From <linux/io_uring.h>.
const IORING_FEAT_SINGLE_MMAP = 1;
const IORING_OFF_SQES = 0x10000000;
const IORING_OP_POLL_ADD = 6;
const IORING_OP_TIMEOUT = 11;
const IORING_OP_LINK_TIMEOUT = 15;
const IORING_OP_MADVISE = 25;
const IOSQE_IO_LINK = 1 << 2; // the next one depends on this one
const IOSQE_IO_HARDLINK = 1 << 3; // the next one runs even if this one fails
const POLLPRI = 0x002;
const SQE = 64;
const PROT_RW = 3;
const MAP_SHARED_POPULATE = 0x01 | 0x8000;

/**
 * madvise(a, len, how) for each, in order, `delayMs` from now, by the kernel:
 * a ring of its own holding a timeout hard-linked to the madvise operations.
 * False if no ring could be set up (then nothing is scheduled).
 *
 * The ring's fd is closed here before this returns, and the ring lives on
 * `lifeMs` by itself: its first operation polls the ring's own fd (which
 * holds the file open) for an event an io_uring never reports, cancelled by
 * a linked timeout. Then nothing holds the ring, and it ends (what has not
 * run yet is cancelled) with the worker thread the kernel keeps for it,
 * which would otherwise wake every five seconds. The process ending ends it
 * too.
 */
export function adviseLater(advice: [bigint, bigint, number][], delayMs: number, lifeMs: number): boolean {
  const n = advice.length + 3; // the poll and its timeout, the timeout, then each madvise
  let entries = 1;
  while (entries < n + 1) entries *= 2; // + 1: a spare slot holds the two timespecs
  if (entries > 4096) return false;
  const params = Buffer.alloc(120); // struct io_uring_params
  let fd: number;
  try { fd = ioUringSetup(entries, params); } catch { return false; }
  const maps: [number, number][] = [];
  try {
    const u32 = (at: number) => params.readUInt32LE(at);
    const sqEntries = u32(0), cqEntries = u32(4), features = u32(20);
    const sqTail = u32(44), sqArray = u32(64), cqes = u32(100);
    if (!(features & IORING_FEAT_SINGLE_MMAP) || sqEntries < n + 1) return false;
    const ringLen = Math.max(sqArray + sqEntries * 4, cqes + cqEntries * 16);
    const rings = mmap(ringLen, PROT_RW, MAP_SHARED_POPULATE, fd, 0); // SQ and CQ
    maps.push([rings, ringLen]);
    const sqesLen = sqEntries * SQE;
    const sqes = mmap(sqesLen, PROT_RW, MAP_SHARED_POPULATE, fd, IORING_OFF_SQES);
    maps.push([sqes, sqesLen]);

    // The spare slot: two struct __kernel_timespec, the ring's life and the delay.
    const tsAt = sqes + (sqEntries - 1) * SQE;
    const ts = Buffer.alloc(32);
    [lifeMs, delayMs].forEach((ms, i) => {
      ts.writeBigInt64LE(BigInt(Math.floor(ms / 1000)), i * 16);
      ts.writeBigInt64LE(BigInt((ms % 1000) * 1e6), i * 16 + 8);
    });
    poke(tsAt, ts);
    const sq = Buffer.alloc(n * SQE);
    const at = (i: number) => i * SQE;
    const timeout = (i: number, op: number, spec: number) => {
      sq.writeUInt8(op, at(i));
      sq.writeInt32LE(-1, at(i) + 4); // no file
      sq.writeBigUInt64LE(BigInt(tsAt + spec * 16), at(i) + 16); // addr: the timespec
      sq.writeUInt32LE(1, at(i) + 24); // len: one timespec; off 0, flags 0: relative
    };
    sq.writeUInt8(IORING_OP_POLL_ADD, at(0));
    sq.writeUInt8(IOSQE_IO_LINK, at(0) + 1);
    sq.writeInt32LE(fd, at(0) + 4);
    sq.writeUInt32LE(POLLPRI, at(0) + 28); // poll32_events
    timeout(1, IORING_OP_LINK_TIMEOUT, 0);
    timeout(2, IORING_OP_TIMEOUT, 1);
    advice.forEach(([a, len, how], k) => {
      const o = at(k + 3);
      sq.writeUInt8(IORING_OP_MADVISE, o);
      sq.writeInt32LE(-1, o + 4);
      sq.writeBigUInt64LE(a, o + 16); // addr
      sq.writeUInt32LE(Number(len), o + 24); // len
      sq.writeUInt32LE(how, o + 28); // fadvise_advice
    });
    for (let i = 2; i < n - 1; i++) sq.writeUInt8(IOSQE_IO_HARDLINK, at(i) + 1);
    for (let i = 0; i < n; i++) sq.writeBigUInt64LE(BigInt(i + 1), at(i) + 32); // user_data
    poke(sqes, sq);
    const index = Buffer.alloc(n * 4);
    for (let i = 0; i < n; i++) index.writeUInt32LE(i, i * 4);
    poke(rings + sqArray, index);
    const tail = Buffer.alloc(4);
    tail.writeUInt32LE(n, 0);
    poke(rings + sqTail, tail);
    return ioUringEnter(fd, n, 0, 0) === n;
  } catch {
    return false;
  } finally {
    // Not all submitted: closing cancels what was (nothing holds the ring yet, or the poll is cut short).
    for (const [addr, len] of maps) try { munmap(addr, len); } catch { /* not mapped */ }
    try { fs.closeSync(fd); } catch { /* gone */ }
  }
}
