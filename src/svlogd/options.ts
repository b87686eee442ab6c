// svlogd [-tttv] [-r c] [-R xyz] [-l len] [-b buflen] dirs...  (man svlogd, OPTIONS)
import { writeSync } from 'node:fs';
import { baseName, calledAs } from '../sys/argv0.js';
import { getopt, GetoptError } from '../sys/getopt.js';

export interface Options {
  stamp: number; // 0 none, 1 -t TAI64N, 2 -tt, 3 -ttt
  verbose: boolean;
  repl: number; // replacement byte, -1 when nothing is replaced
  replace: Buffer; // -R: characters replaced besides the non-printable ones
  linemax: number;
  buflen: number;
  dirs: string[];
}

/** runit's svlogd prints its usage (naming itself as called) and exits 111. */
function usage(): never {
  try { writeSync(2, `usage: ${calledAs()} [-ttv] [-r c] [-R abc] [-l len] [-b buflen] dir ...\n\n`); } catch { /* stderr gone */ }
  process.exit(111);
}

function scanUlong(s: string): number {
  const m = /^[0-9]*/.exec(s)![0];
  return m === '' ? 0 : Number(m);
}

export function parseOptions(argv: string[]): Options {
  return readOptions(argv) ?? usage();
}

/** The options, or null where svlogd prints its usage. */
export function readOptions(argv: string[]): Options | null {
  let parsed;
  try {
    parsed = getopt(argv, 'R:r:l:b:tv', baseName(calledAs()));
  } catch (e) {
    if (e instanceof GetoptError) return null;
    throw e;
  }
  const o: Options = { stamp: 0, verbose: false, repl: -1, replace: Buffer.alloc(0), linemax: 1000, buflen: 1024, dirs: parsed.rest };
  let r = -1;
  for (const { opt, arg = '' } of parsed.opts) {
    switch (opt) {
      case 't': o.stamp = Math.min(o.stamp + 1, 3); break;
      case 'v': o.verbose = true; break;
      case 'r': {
        const b = Buffer.from(arg);
        if (b.length !== 1) return null;
        r = b[0]!;
        break;
      }
      case 'R': o.replace = Buffer.from(arg); if (r < 0) r = -2; break;
      case 'l': o.linemax = scanUlong(arg) || 1000; break;
      case 'b': o.buflen = scanUlong(arg) || 1024; break;
    }
  }
  if (r === -2) r = 0x5f; // -R without -r: `_`
  o.repl = r;
  if (o.buflen <= o.linemax) return null;
  if (o.dirs.length === 0) return null;
  return o;
}
