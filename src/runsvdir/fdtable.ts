// The size of the host's fd table, set before its threads share it. A
// process whose table is shared by other threads (Node's) or children
// (clonespawn.ts's) waits a whole RCU grace period, 5 to 25 ms here, each
// time its table grows: eight times from 64 to a tree of 1000 logged
// services. A table set large in a process that is not yet sharing it
// (runsvdir's posix_spawn child, or runsvdir's launcher start.s) keeps its
// size through the exec.
import { getrlimit, RLIMIT } from '../sys/libc.js';

/** What the host holds for a service: 14 fds for a logged one (its directories, pipe, locks, FIFOs, logger). */
const FDS_PER_SERVICE = 16;

/**
 * The last fd of a table large enough for `services`, under the fd limit,
 * or null when a table of `have` slots will do.
 */
export function tableFd(services: number, have = 256): number | null {
  const want = 64 + FDS_PER_SERVICE * services;
  if (want <= have) return null;
  let limit: number;
  try { limit = Number(getrlimit(RLIMIT.NOFILE).cur); } catch { return null; }
  // the kernel rounds a table up to a power of two
  let size = 2 ** Math.ceil(Math.log2(want));
  if (size > limit) size = 2 ** Math.floor(Math.log2(limit));
  return size > have ? size - 1 : null;
}
