// The end of chpst: a real execve, so the program keeps chpst's pid.
//
// Node gets in the way three times, and each is undone here:
// - it marks fds close-on-exec at startup, whoever opened them (0 to 15, then
//   on from 16 up to the first that is not open); the ones the caller passed
//   (all but Node's own epoll, eventfd and pipe pairs) are handed on, as exec
//   would have done for runit's chpst;
// - it leaves SIGPIPE and SIGXFSZ ignored: libc.execve resets every signal and
//   empties the mask. Signals the caller had ignored or blocked are not restored:
//   Node has already reset them to default before any of our code runs;
// - it decodes argv and the environment as UTF-8: we exec the original bytes.
import fs from 'node:fs';
import { execve, getCloexec, SysError } from '../sys/libc.js';

/**
 * The fds the caller handed to chpst and that Node marked close-on-exec: every
 * close-on-exec fd above 2 but Node's own (its event loop's epoll and eventfd,
 * and pipes whose both ends are here). Whatever else Node opens, it opens
 * after our code runs; the caller's other fds never had the flag, or they
 * would not have reached us.
 */
export function callerFds(): number[] {
  let fds: number[];
  try {
    fds = fs.readdirSync('/proc/self/fd').map(Number);
  } catch {
    return []; // no /proc: nothing to tell them apart by
  }
  const links = new Map<number, string>();
  for (const fd of fds) {
    try { links.set(fd, fs.readlinkSync(`/proc/self/fd/${fd}`)); } catch { /* the listing's own fd */ }
  }
  // Node's pipes have both ends above 2 (a caller's stdin may share a pipe with a passed fd)
  const pipes = new Map<string, number>();
  for (const [fd, l] of links) if (fd > 2 && l.startsWith('pipe:')) pipes.set(l, (pipes.get(l) ?? 0) + 1);
  const out: number[] = [];
  for (const [fd, link] of links) {
    if (fd <= 2) continue;
    let cloexec: boolean;
    try { cloexec = getCloexec(fd); } catch { continue; }
    if (!cloexec) continue;
    if (link.startsWith('anon_inode:')) continue; // epoll, eventfd, signalfd: Node's event loop
    if (link.startsWith('pipe:') && pipes.get(link)! > 1) continue; // both ends here: Node's own
    out.push(fd);
  }
  return out;
}

/** A NUL-terminated copy, as execve wants it. */
export const cstr = (b: Buffer | string): Buffer => Buffer.concat([Buffer.from(b), Buffer.from([0])]);

/**
 * Run `file` the way djb's pathexec_run does: a name with a slash as it is,
 * otherwise each directory of $PATH (from the environment chpst was given;
 * /bin:/usr/bin without one) in turn, going on past files that are missing,
 * not permitted or directories. Throws the SysError that explains the failure.
 */
export function pathexec(file: Buffer, argv: Buffer[], env: Buffer[], keep: number[]): never {
  const args = argv.map(cstr);
  if (file.includes(0x2f)) execve(cstr(file), args, env, keep);
  const PATH = process.env.PATH ?? '/bin:/usr/bin';
  let saved: SysError | undefined;
  let last: SysError | undefined;
  for (const dir of PATH.split(':')) {
    try {
      execve(cstr(Buffer.concat([Buffer.from(dir === '' ? '.' : dir), Buffer.from('/'), file])), args, env, keep);
    } catch (e) {
      if (!(e instanceof SysError)) throw e;
      last = e;
      if (e.code === 'ENOENT') continue;
      saved = e;
      if (e.code !== 'EACCES' && e.code !== 'EPERM' && e.code !== 'EISDIR') throw e;
    }
  }
  throw saved ?? last!;
}
