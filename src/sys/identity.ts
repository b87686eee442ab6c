// Acting as another user for a moment, on the main thread only. Linux keeps
// credentials per thread, and the raw system calls (sys/libc.ts) change only
// the calling thread's; whatever runs on it meanwhile (opening, creating,
// renaming and writing files, starting a process) is checked, owned and
// charged as that user's would be, and a process started then is that user's
// from the start. It is what the runsvdir host does for a logger run as
// `chpst -u USER svlogd ...` (src/runsvdir/logger.ts).
//
// The real and effective ids become the user's (chpst -u makes all three the
// user's), with the saved uid left 0: that is what lets the thread become root
// again. While the effective uid is not 0 the thread has no effective
// capability (no CAP_DAC_OVERRIDE, CAP_FOWNER, CAP_SYS_RESOURCE: a directory
// the user cannot write is refused, root's reserved blocks are not used, nor,
// root's gid gone too, those ext4 keeps for group 0); a
// process started meanwhile keeps none either (an exec makes its saved uid its
// effective one). Node's worker threads keep root's credentials: nothing done
// as a user may go to the thread pool. The kernel makes the process
// undumpable when its ids change; it is made dumpable again with root's.
import fs from 'node:fs';
import { dumpable, setDumpable, threadCredentials, threadSetgroups, threadSetresgid, threadSetresuid } from './libc.js';

/** A user's ids: its uid, gid and supplementary groups (chpst -u: setgroups, setgid, setuid). */
export interface User { uid: number; gid: number; groups: number[] }

/** The switch could not be made (this thread's credentials are as they were). */
export class CannotAct extends Error {
  constructor(readonly cause: unknown) { super('unable to act as another user'); }
}

interface Own { gid: [number, number, number]; groups: number[]; dumpable: boolean }
let own: Own | null | undefined;

/** A process's (or `thread-self`'s) ids as /proc shows them: uids and gids (real, effective, saved, fs), groups. */
export function idsOf(pid: number | 'thread-self'): { uid: number[]; gid: number[]; groups: number[] } {
  const st = fs.readFileSync(`/proc/${pid}/status`, 'latin1');
  const field = (k: string): number[] => (new RegExp(`^${k}:(.*)$`, 'm').exec(st)?.[1] ?? '').trim().split(/\s+/).filter(Boolean).map(Number);
  return { uid: field('Uid'), gid: field('Gid'), groups: field('Groups') };
}

/** The thread's own ids, if it is root (real, effective and saved uid 0). */
function ownIds(): Own | null {
  if (own !== undefined) return own;
  own = null;
  if (!threadCredentials) return null;
  try {
    const { uid, gid, groups } = idsOf('thread-self');
    if (uid.length < 3 || uid.slice(0, 3).some((u) => u !== 0) || gid.length < 3) return null;
    own = { gid: [gid[0]!, gid[1]!, gid[2]!], groups, dumpable: dumpable() };
  } catch {
    own = null;
  }
  return own;
}

/** Whether this process can act as other users (it runs as root, on a machine whose calls are known). */
export function canAct(): boolean {
  return ownIds() !== null;
}

let acting: User | null = null;

function back(o: Own): void {
  try {
    threadSetresuid(0, 0, 0);
    threadSetresgid(...o.gid);
    threadSetgroups(o.groups);
    if (o.dumpable) setDumpable(); // the kernel clears it on each change of ids
  } catch (e) {
    // Cannot happen (the saved uid is 0); carrying on as someone else would be worse than stopping.
    try { fs.writeSync(2, `runsv: fatal: unable to become root again: ${String(e)}\n`); } catch { /* no stderr */ }
    process.exit(111);
  }
}

/**
 * `f()` with this thread acting as `user`, then as root again, whatever `f`
 * does. Nested calls for the same user run `f` as they are. Throws CannotAct
 * when the switch cannot be made (not root, or the kernel refuses).
 */
export function asUser<T>(user: User, f: () => T): T {
  if (acting === user) return f();
  const o = ownIds();
  if (!o || acting) throw new CannotAct(acting ? 'acting as another user already' : 'not root');
  const { gid } = user;
  try {
    threadSetgroups(user.groups);
    threadSetresgid(gid, gid, gid);
    threadSetresuid(user.uid, user.uid, 0);
  } catch (e) {
    back(o);
    throw new CannotAct(e);
  }
  acting = user;
  try {
    return f();
  } finally {
    acting = null;
    back(o);
  }
}
