// Crash-loop backoff (./backoff: the longest delay, in ms). runit waits one
// second between starts of ./run; with ./backoff each run that dies early
// doubles that wait, up to the maximum. A run that stays up as long as the
// maximum (10 s at most), or becomes ready, sets it back to one second.
export const FIRST = 1000;
const LONG_ENOUGH = 10_000;

/** The wait before the next start, after a run of `ranMs` that was (or not) ready. */
export function next(delay: number, max: number, ranMs: number, ready: boolean): number {
  if (max <= FIRST) return FIRST;
  if (ready || ranMs >= Math.min(max, LONG_ENOUGH)) return FIRST;
  return Math.min(Math.max(delay, FIRST) * 2, max);
}
