// What chpst is asked to change, and the changes themselves, in the order
// runit makes them (chpst.c main): new session, envdir, chroot, chdir, nice,
// $UID/$GID, uid and gids, lock, closing 0/1/2, limits; then exec.
import fs from 'node:fs';
import { fatal } from '../sys/say.js';
import { chroot, nice, setsid } from '../sys/libc.js';
import { Environ, rawArgs } from './environ.js';
import { envdir } from './envdir.js';
import { callerFds, pathexec } from './exec.js';
import { applyLimits, type Limits } from './limits.js';
import { LockError, takeLock } from './lock.js';
import { lookupAccount, lookupExtended, UnknownAccount, type UidGid } from './uidgid.js';

export interface Changes {
  setsid?: boolean;
  envdir?: { dir: string; skipDirs: boolean };
  root?: string;
  cwd?: string;
  nice?: number;
  /** -U / envuidgid: `extended` for the -U syntax, else a plain account name */
  envUser?: { spec: string; extended: boolean };
  user?: { spec: string; extended: boolean };
  lock?: { file: string; wait: boolean; quiet?: boolean };
  close?: { stdin?: boolean; stdout?: boolean; stderr?: boolean };
  limits?: Limits;
  verbose?: boolean;
  argv0?: string;
}

function account(u: { spec: string; extended: boolean }): UidGid {
  try {
    return u.extended ? lookupExtended(u.spec) : lookupAccount(u.spec);
  } catch (e) {
    if (e instanceof UnknownAccount) {
      if (e.kind === 'invalid') fatal(111, ['invalid uid/gids: ', e.spec]);
      fatal(111, [u.extended ? 'unknown user/group: ' : 'unknown account: ', e.spec]);
    }
    fatal(111, [u.extended ? 'unable to get password/group file entry' : 'unable to get password file entry'], e);
  }
}

/**
 * Make the changes and exec the program, the argument at `progAt` (counting
 * from the first after the script's name) and those after it. Returns only if
 * `lock.quiet` (setlock -x) swallowed a failure.
 */
export function changeAndRun(ch: Changes, progAt: number): void {
  const env = new Environ();
  let keep = [0, 1, 2, ...callerFds()];
  const argv = rawArgs().slice(progAt); // while /proc is still there to read
  if (ch.setsid) { try { setsid(); } catch { /* already a group leader: runit goes on too */ } }
  if (ch.envdir) envdir(ch.envdir.dir, env, { skipDirs: ch.envdir.skipDirs, verbose: !!ch.verbose });
  if (ch.root !== undefined) {
    try { process.chdir(ch.root); } catch (e) { fatal(111, ['unable to change directory: ', ch.root], e); }
    try { chroot('.'); } catch (e) { fatal(111, ['unable to change root directory'], e); }
  }
  if (ch.cwd !== undefined) {
    try { process.chdir(ch.cwd); } catch (e) { fatal(111, ['unable to change directory: ', ch.cwd], e); }
  }
  if (ch.nice) {
    try { nice(ch.nice); } catch (e) { fatal(111, ['unable to set nice level'], e); }
  }
  if (ch.envUser) {
    const ids = account(ch.envUser);
    env.set('GID', String(ids.gids[0]));
    env.set('UID', String(ids.uid));
  }
  if (ch.user) {
    const ids = account(ch.user);
    try { process.setgroups!(ids.gids); } catch (e) { fatal(111, ['unable to setgroups'], e); }
    try { process.setgid!(ids.gids[0]!); } catch (e) { fatal(111, ['unable to setgid'], e); }
    try { process.setuid!(ids.uid); } catch (e) { fatal(111, ['unable to setuid'], e); }
  }
  if (ch.lock) {
    try {
      keep.push(takeLock(ch.lock.file, ch.lock.wait));
    } catch (e) {
      if (!(e instanceof LockError)) throw e;
      if (ch.lock.quiet) return;
      fatal(111, [e.what, ': ', ch.lock.file], e.cause);
    }
  }
  const closing: [boolean | undefined, number, string][] = [
    [ch.close?.stdin, 0, 'stdin'], [ch.close?.stdout, 1, 'stdout'], [ch.close?.stderr, 2, 'stderr'],
  ];
  for (const [wanted, fd, name] of closing) {
    if (!wanted) continue;
    try { fs.closeSync(fd); } catch (e) { fatal(111, [`unable to close ${name}`], e); }
    keep = keep.filter((k) => k !== fd);
  }
  if (ch.limits) applyLimits(ch.limits);

  const file = argv[0]!;
  if (ch.argv0 !== undefined) argv[0] = Buffer.from(ch.argv0);
  try {
    pathexec(file, argv, env.list(), keep);
  } catch (e) {
    if (ch.lock?.quiet) return;
    fatal(111, ['unable to run: ', argv[0]!.toString()], e);
  }
}
