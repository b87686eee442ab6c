// Crash-loop backoff (./backoff: the longest wait, in ms). runit waits one
// second between starts of ./run; with ./backoff, each further run in a row
// that dies early doubles that wait (1 s, 2 s, 4 s, ...) up to the maximum.
// A run that stays up as long as the maximum (10 s at most), or becomes
// ready (notification-fd), sets it back to one second.
export const FIRST = 1000;
const LONG_ENOUGH = 10_000;

/** Did a run of `ranMs` die early (count towards the backoff)? */
export function early(max: number, ranMs: number, ready: boolean): boolean {
  return max > FIRST && !ready && ranMs < Math.min(max, LONG_ENOUGH);
}

/** The wait before the next start after `failures` early deaths in a row. */
export function delay(failures: number, max: number): number {
  if (max <= FIRST || failures <= 1) return FIRST;
  return Math.min(FIRST * 2 ** Math.min(failures - 1, 30), max);
}
