// Wall-clock time with nanosecond resolution (Date.now() has only milliseconds):
// anchored to Date.now() once a second and advanced by the monotonic hrtime in
// between, so timestamps in one second never go backwards.
export interface Instant { sec: number; nano: number } // Unix seconds, nanoseconds

let anchorMs = Date.now();
let anchorHr = process.hrtime.bigint();
let last: Instant = { sec: 0, nano: 0 };

export function now(): Instant {
  const hr = process.hrtime.bigint();
  let el = Number(hr - anchorHr);
  if (el >= 1e9 || el < 0) {
    anchorMs = Date.now();
    anchorHr = hr;
    el = 0;
  }
  const ns = (anchorMs % 1000) * 1e6 + el;
  const t = { sec: Math.floor(anchorMs / 1000) + Math.floor(ns / 1e9), nano: ns % 1e9 };
  // Re-anchoring may step back by less than a millisecond: hide that, but follow
  // a clock that was really set back.
  const back = (last.sec - t.sec) * 1e9 + (last.nano - t.nano);
  if (back > 0 && back < 2e6) return last;
  last = t;
  return t;
}

const hex = (n: number, w: number): string => n.toString(16).padStart(w, '0');

/** TAI64N label of a Unix instant: `@` + 24 hex digits (2^62 + 10 + seconds, nanoseconds). */
export function tai64n(t: Instant): string {
  const s = t.sec + 10;
  return '@' + hex(0x40000000 + Math.floor(s / 0x100000000), 8) + hex(s % 0x100000000, 8) + hex(t.nano, 8);
}
