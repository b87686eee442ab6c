// runsvdir's command line, `[-P] [-M ADDRESS:PORT] dir [log]`: read by
// runsvdir, and by a host its launcher started beside it (start.s), which
// reads the same words and must take them alike without being told.
import { parseAddress } from './address.js';

export interface Args {
  /** -P (runit's): the supervisors in new sessions. */
  newSession: boolean;
  /** -M ADDRESS:PORT (ours): where the host serves metrics. */
  metrics?: string;
  dir: string;
  /** The log argument, when runsvdir keeps one (seven characters at least). */
  log?: string;
  /** The log argument was given but is too short (runsvdir warns, and keeps none). */
  shortLog: boolean;
  /** How many words the options and dir took (runsvdir's title shows them and the log). */
  at: number;
}

/** What runsvdir will do, or 'usage' (it prints its usage, exit 1), or the bad address of a -M (fatal). */
export function parseArgs(args: string[]): Args | 'usage' | { badAddress: string } {
  let newSession = false;
  let metrics: string | undefined;
  let at = 0;
  for (; at < args.length; at++) {
    const a = args[at]!;
    if (a === '-P') newSession = true;
    else if (a === '-M') { metrics = args[++at]; if (metrics === undefined) return 'usage'; }
    else if (a.startsWith('-M') && a.length > 2) metrics = a.slice(2);
    else break;
  }
  if (metrics !== undefined && !parseAddress(metrics)) return { badAddress: metrics };
  const dir = args[at];
  if (dir === undefined) return 'usage';
  const given = args[at + 1];
  const shortLog = given !== undefined && given.length < 7;
  return { newSession, metrics, dir, log: shortLog ? undefined : given, shortLog, at };
}
