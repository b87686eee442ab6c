// The timestamps -t, -tt and -ttt put before a line, each 25 characters and a
// space, formatted as runit's svlogd formats them (fraction: the first five
// digits of the nanoseconds, truncated).
import { type Instant, tai64n } from './clock.js';

export const STAMP_LEN = 26;

export class Stamp {
  readonly buf = Buffer.alloc(STAMP_LEN, 0x20);
  private sec = -1;

  /** kind: 1 TAI64N, 2 `YYYY-MM-DD_HH:MM:SS.xxxxx`, 3 with `T` instead of `_`. */
  constructor(readonly kind: number) {}

  set(t: Instant): Buffer {
    const b = this.buf;
    if (this.kind === 1) {
      b.write(tai64n(t), 0, 'latin1');
      return b;
    }
    if (t.sec !== this.sec) {
      this.sec = t.sec;
      const d = new Date(t.sec * 1000);
      const p2 = (n: number): string => String(n).padStart(2, '0');
      const s = `${d.getUTCFullYear()}-${p2(d.getUTCMonth() + 1)}-${p2(d.getUTCDate())}${this.kind === 2 ? '_' : 'T'}` +
        `${p2(d.getUTCHours())}:${p2(d.getUTCMinutes())}:${p2(d.getUTCSeconds())}.`;
      b.write(s, 0, 'latin1');
    }
    let f = Math.floor(t.nano / 10000);
    for (let i = 24; i >= 20; i--) {
      b[i] = 0x30 + (f % 10);
      f = Math.floor(f / 10);
    }
    return b;
  }
}
