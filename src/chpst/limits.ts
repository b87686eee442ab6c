// Resource limits (man chpst -m -d -o -p -f -c -r -t; softlimit(8)). Each sets
// the soft limit only; a value above the hard limit, or softlimit's `=`, means
// the hard limit.
import { fatal } from '../sys/say.js';
import { getrlimit, RLIMIT, setrlimit } from '../sys/libc.js';

/** A requested soft limit: a number, or 'max' for the hard limit. */
export type Limit = bigint | 'max';

export interface Limits {
  data?: Limit; stack?: Limit; memlock?: Limit; as?: Limit; nofile?: Limit;
  nproc?: Limit; fsize?: Limit; core?: Limit; rss?: Limit; cpu?: Limit;
}

// the order runit applies them in
const order: [keyof Limits, number][] = [
  ['data', RLIMIT.DATA], ['stack', RLIMIT.STACK], ['memlock', RLIMIT.MEMLOCK], ['as', RLIMIT.AS],
  ['nofile', RLIMIT.NOFILE], ['nproc', RLIMIT.NPROC], ['fsize', RLIMIT.FSIZE], ['core', RLIMIT.CORE],
  ['rss', RLIMIT.RSS], ['cpu', RLIMIT.CPU],
];

/**
 * An unsigned decimal number as runit's scan_ulong reads it: digits only, the
 * empty string is 0; null for anything else. A value too big for a C long
 * wraps negative in runit, which means "the hard limit": so 'max' here.
 */
export function parseLimit(s: string): Limit | null {
  if (!/^[0-9]*$/.test(s)) return null;
  if (s === '') return 0n;
  const v = BigInt(s);
  return v >= 2n ** 63n ? 'max' : v;
}

export function applyLimits(l: Limits): void {
  for (const [key, res] of order) {
    const want = l[key];
    if (want === undefined) continue;
    let cur;
    try {
      cur = getrlimit(res);
    } catch (e) {
      fatal(111, ['unable to getrlimit()'], e);
    }
    const soft = want === 'max' || want > cur.max ? cur.max : want;
    try {
      setrlimit(res, { cur: soft, max: cur.max });
    } catch (e) {
      fatal(111, ['unable to setrlimit()'], e);
    }
  }
}
