// Accounts as chpst names them (man chpst, -u and -U): `user[:group[:group...]]`
// looked up through getpwnam/getgrnam, or `:uid:gid[:gid...]` taken as numbers.
import { getgrnam, getpwnam } from '../sys/libc.js';

export interface UidGid { uid: number; gids: number[] }

export class UnknownAccount extends Error {
  constructor(readonly kind: 'invalid' | 'unknown', readonly spec: string) { super(spec); }
}

const MAXGROUPS = 60; // runit keeps at most this many

/** Leading decimal digits of `s` from `at` (none is 0), as runit's scan_ulong reads them. */
function scanUlong(s: string, at: number): { value: number; end: number } {
  let end = at;
  let value = 0;
  while (end < s.length && s.charCodeAt(end) >= 48 && s.charCodeAt(end) <= 57) {
    value = (value * 10 + (s.charCodeAt(end) - 48)) % 0x100000000; // uid_t is 32 bits
    end++;
  }
  return { value, end };
}

/** `:uid:gid[:gid...]` (without the leading colon); null when malformed. */
function numeric(s: string): UidGid | null {
  const u = scanUlong(s, 0);
  if (s[u.end] !== ':') return null;
  const gids: number[] = [];
  let at = u.end + 1;
  for (;;) {
    const g = scanUlong(s, at);
    gids.push(g.value);
    at = g.end;
    if (s[at] !== ':' || gids.length === MAXGROUPS) break;
    at++;
  }
  if (at !== s.length) return null;
  return { uid: u.value, gids };
}

/** -u / -U: the extended form. Throws UnknownAccount, or SysError when the lookup itself fails. */
export function lookupExtended(spec: string): UidGid {
  if (spec.startsWith(':')) {
    const ids = numeric(spec.slice(1));
    if (!ids) throw new UnknownAccount('invalid', spec.slice(1));
    return ids;
  }
  const [user, ...groups] = spec.split(':');
  const pw = getpwnam(user!);
  if (!pw) throw new UnknownAccount('unknown', spec);
  if (groups.length === 0) return { uid: pw.uid, gids: [pw.gid] };
  const gids: number[] = [];
  for (const g of groups.slice(0, MAXGROUPS)) {
    const gid = getgrnam(g);
    if (gid === null) throw new UnknownAccount('unknown', spec);
    gids.push(gid);
  }
  return { uid: pw.uid, gids };
}

/** setuidgid / envuidgid (daemontools): a plain account name. */
export function lookupAccount(name: string): UidGid {
  const pw = getpwnam(name);
  if (!pw) throw new UnknownAccount('unknown', name);
  return { uid: pw.uid, gids: [pw.gid] };
}
