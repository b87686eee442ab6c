// Giving back the pages of Node's code that start-up touched and idle
// supervision never runs again (runsvdir and its host, once each burst of
// work is over: runsvdir/compact.ts).
import fs from 'node:fs';
import { madvise } from '../sys/libc.js';
import { adviseLater } from './uring.js';

const MADV_RANDOM = 1;
const MADV_DONTNEED = 4;
const MADV_PAGEOUT = 21; // Linux 5.4

/** How long the ring outlives the delay: the advice takes milliseconds. */
const RING_LIFE_MS = 2000;

/**
 * Let go of the pages of read-only file mappings (the node binary's code and
 * read-only data, libraries) once start-up is over: start-up touches some
 * 35 MB of Node that idle supervision never runs again. MADV_PAGEOUT gives
 * back the pages this process alone maps, as the kernel would under memory
 * pressure; MADV_DONTNEED then unmaps those another process maps too (they
 * stay in the page cache, reclaimable). Whatever is touched again comes back
 * from the page cache or the file (MADV_RANDOM: a page at a time, not its
 * neighbours). Only mappings without a private copy of any page (smaps
 * `Anonymous: 0 kB`, so nothing relocated or patched) are touched, so no byte
 * the process sees can change.
 *
 * Done at once, the code that runs afterwards (back to the event loop) maps
 * some 4 MB again, 64 KB at a time (the kernel maps a faulting page's
 * neighbours too): so the advice is given `delayMs` later by the kernel, from
 * an io_uring (a timeout linked to the madvise calls), while this process
 * sleeps; it touches none of these pages to do so. Where io_uring cannot be
 * used (old kernel, disabled, seccomp), at once.
 *
 * The ring closes itself `RING_LIFE_MS` after the advice is due (uring.ts):
 * no process of ours is left holding it. Returns how many mappings are
 * advised; never throws.
 */
export function pageOutFiles(delayMs = 0): number {
  let smaps: string;
  try { smaps = fs.readFileSync('/proc/self/smaps', 'latin1'); } catch { return 0; }
  const ranges: [bigint, bigint][] = [];
  for (const block of smaps.split(/\n(?=[0-9a-f]+-[0-9a-f]+ )/)) {
    // start-end perms offset dev inode path, then the counters
    const f = block.slice(0, block.indexOf('\n')).split(/\s+/);
    if (f.length < 6 || f[4] === '0' || !f[5]!.startsWith('/') || !/^r-.p$/.test(f[1]!)) continue;
    if (!/^Anonymous:\s+0 kB$/m.test(block)) continue;
    const [a, b] = f[0]!.split('-').map((x) => BigInt('0x' + x));
    ranges.push([a!, b! - a!]);
  }
  // Every page this very code touches after a mapping is advised comes back:
  // the parsing is done first, and the largest mapping (the node binary's
  // code) goes last.
  ranges.sort((x, y) => (x[1] < y[1] ? -1 : x[1] > y[1] ? 1 : 0));
  for (const [a, len] of ranges) try { madvise(a, len, MADV_RANDOM); } catch { /* as it was */ }
  const advice: [bigint, bigint, number][] = ranges.flatMap(([a, len]) =>
    [[a, len, MADV_PAGEOUT], [a, len, MADV_DONTNEED]] as [bigint, bigint, number][]);
  if (delayMs > 0 && adviseLater(advice, delayMs, delayMs + RING_LIFE_MS)) return ranges.length;
  let n = 0;
  for (const [a, len, how] of advice) {
    try {
      madvise(a, len, how);
      if (how === MADV_DONTNEED) n++;
    } catch { /* kept */ }
  }
  return n;
}
