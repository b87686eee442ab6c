// madvise calls given later by the kernel, from an io_uring of their own
// (memory/pageout.ts), so that this process sleeps while they run.
import fs from 'node:fs';
import { ioUringEnter, ioUringSetup, mmap, munmap, poke } from '../sys/libc.js';

// From <linux/io_uring.h>.
const IORING_FEAT_SINGLE_MMAP = 1;
const IORING_OFF_SQES = 0x10000000;
const IORING_OP_TIMEOUT = 11;
const IORING_OP_MADVISE = 25;
const IOSQE_IO_HARDLINK = 1 << 3; // the next one runs even if this one fails
const SQE = 64;
const PROT_RW = 3;
const MAP_SHARED_POPULATE = 0x01 | 0x8000;

/** An io_uring: its fd and its mappings. */
export interface Ring { fd: number; maps: [number, number][] }

/** Closed here: the ring ends (what has not run is cancelled) once no process has its fd open. */
export function closeRing(ring: Ring): void {
  for (const [addr, len] of ring.maps) try { munmap(addr, len); } catch { /* not mapped */ }
  try { fs.closeSync(ring.fd); } catch { /* gone */ }
}

/**
 * madvise(a, len, how) for each, in order, `delayMs` from now, by the kernel:
 * a ring of its own holding a timeout hard-linked to the madvise operations.
 * Null if no ring could be set up (then nothing is scheduled).
 */
export function adviseLater(advice: [bigint, bigint, number][], delayMs: number): Ring | null {
  const n = advice.length + 1; // the timeout, then each madvise
  let entries = 1;
  while (entries < n + 1) entries *= 2; // + 1: a spare slot holds the timespec
  if (entries > 4096) return null;
  const params = Buffer.alloc(120); // struct io_uring_params
  let fd: number;
  try { fd = ioUringSetup(entries, params); } catch { return null; }
  const maps: [number, number][] = [];
  const ring: Ring = { fd, maps };
  try {
    const u32 = (at: number) => params.readUInt32LE(at);
    const sqEntries = u32(0), cqEntries = u32(4), features = u32(20);
    const sqTail = u32(44), sqArray = u32(64), cqes = u32(100);
    if (!(features & IORING_FEAT_SINGLE_MMAP) || sqEntries < n + 1) { closeRing(ring); return null; }
    const ringLen = Math.max(sqArray + sqEntries * 4, cqes + cqEntries * 16);
    const rings = mmap(ringLen, PROT_RW, MAP_SHARED_POPULATE, fd, 0); // SQ and CQ
    maps.push([rings, ringLen]);
    const sqesLen = sqEntries * SQE;
    const sqes = mmap(sqesLen, PROT_RW, MAP_SHARED_POPULATE, fd, IORING_OFF_SQES);
    maps.push([sqes, sqesLen]);

    const tsAt = sqes + (sqEntries - 1) * SQE; // the spare slot: struct __kernel_timespec
    const ts = Buffer.alloc(16);
    ts.writeBigInt64LE(BigInt(Math.floor(delayMs / 1000)), 0);
    ts.writeBigInt64LE(BigInt((delayMs % 1000) * 1e6), 8);
    poke(tsAt, ts);
    const sq = Buffer.alloc(n * SQE);
    const at = (i: number) => i * SQE;
    sq.writeUInt8(IORING_OP_TIMEOUT, at(0));
    sq.writeInt32LE(-1, at(0) + 4); // no file
    sq.writeBigUInt64LE(BigInt(tsAt), at(0) + 16); // addr: the timespec
    sq.writeUInt32LE(1, at(0) + 24); // len: one timespec; off 0: a plain timer
    advice.forEach(([a, len, how], k) => {
      const o = at(k + 1);
      sq.writeUInt8(IORING_OP_MADVISE, o);
      sq.writeInt32LE(-1, o + 4);
      sq.writeBigUInt64LE(a, o + 16); // addr
      sq.writeUInt32LE(Number(len), o + 24); // len
      sq.writeUInt32LE(how, o + 28); // fadvise_advice
    });
    for (let i = 0; i < n - 1; i++) sq.writeUInt8(IOSQE_IO_HARDLINK, at(i) + 1);
    for (let i = 0; i < n; i++) sq.writeBigUInt64LE(BigInt(i + 1), at(i) + 32); // user_data
    poke(sqes, sq);
    const index = Buffer.alloc(n * 4);
    for (let i = 0; i < n; i++) index.writeUInt32LE(i, i * 4);
    poke(rings + sqArray, index);
    const tail = Buffer.alloc(4);
    tail.writeUInt32LE(n, 0);
    poke(rings + sqTail, tail);
    if (ioUringEnter(fd, n, 0, 0) !== n) { closeRing(ring); return null; }
  } catch {
    closeRing(ring);
    return null;
  }
  return ring;
}
