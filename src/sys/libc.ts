// The few libc calls Node lacks, through koffi. Every binding lives here and
// nowhere else; programs that never import this module never load koffi.
//
// Each call throws a SysError (with the C errno name, e.g. 'EAGAIN') on failure,
// so callers can report "unable to X: why" in runit's words.
import koffi from './koffi.js';
import type { IKoffiCType } from 'koffi';
import fs from 'node:fs';
import os from 'node:os';
import { errnoText } from './errors.js';

// Each call on a worker thread (spawns, epollWaitAsync) takes a set of koffi's
// call memory, mapped and unmapped per call beyond the resident ones: kept
// for as many as run at once (children.ts AT_ONCE, and one epoll_wait), with a
// smaller stack (these calls pass a few arguments; virtual memory, touched
// only as used).
koffi.config({ ...koffi.config(), resident_async_pools: 6, async_stack_size: 64 * 1024 });

const lib = koffi.load('libc.so.6');

const c = {
  pipe2: lib.func('int pipe2(_Out_ int *fds, int flags)'),
  mkfifo: lib.func('int mkfifo(const char *path, uint32_t mode)'),
  flock: lib.func('int flock(int fd, int op)'),
  fcntl: lib.func('int fcntl(int fd, int cmd, ...)'),
  execve: lib.func('int execve(const char *path, const char **argv, const char **envp)'),
  getrlimit: lib.func('int getrlimit(int res, _Out_ uint8_t *rlim)'),
  setrlimit: lib.func('int setrlimit(int res, const uint8_t *rlim)'),
  prlimit: lib.func('int prlimit(int pid, int res, const uint8_t *rlim, uint8_t *old)'),
  setsid: lib.func('int setsid(void)'),
  setpgid: lib.func('int setpgid(int pid, int pgid)'),
  signal: lib.func('void *signal(int sig, void *handler)'),
  sigprocmask: lib.func('int sigprocmask(int how, const uint8_t *set, _Out_ uint8_t *old)'),
  dup2: lib.func('int dup2(int oldfd, int newfd)'),
  chroot: lib.func('int chroot(const char *path)'),
  nice: lib.func('int nice(int inc)'),
  reboot: lib.func('int reboot(int cmd)'),
  sync: lib.func('void sync(void)'),
  kill: lib.func('int kill(int pid, int sig)'),
  getpgrp: lib.func('int getpgrp(void)'),
  errnoLoc: lib.func('int *__errno_location(void)'),
  getpwnam: lib.func('void *getpwnam(const char *name)'),
  getgrnam: lib.func('void *getgrnam(const char *name)'),
  posixSpawn: lib.func('int posix_spawn(_Out_ int *pid, const char *path, void *actions, void *attr, const char **argv, const char **envp)'),
  // the same, for a call on a worker thread: the pid lands in a buffer the caller keeps
  posixSpawnTo: lib.func('int posix_spawn(int32_t *pid, const char *path, void *actions, void *attr, const char **argv, const char **envp)'),
  actionsInit: lib.func('int posix_spawn_file_actions_init(void *actions)'),
  actionsDestroy: lib.func('int posix_spawn_file_actions_destroy(void *actions)'),
  addDup2: lib.func('int posix_spawn_file_actions_adddup2(void *actions, int fd, int to)'),
  addChdir: lib.func('int posix_spawn_file_actions_addchdir_np(void *actions, const char *path)'),
  attrInit: lib.func('int posix_spawnattr_init(void *attr)'),
  attrDestroy: lib.func('int posix_spawnattr_destroy(void *attr)'),
  attrFlags: lib.func('int posix_spawnattr_setflags(void *attr, short flags)'),
  attrSigdefault: lib.func('int posix_spawnattr_setsigdefault(void *attr, const uint8_t *set)'),
  attrSigmask: lib.func('int posix_spawnattr_setsigmask(void *attr, const uint8_t *set)'),
  waitpid: lib.func('int waitpid(int pid, _Out_ int *status, int options)'),
  epollCreate1: lib.func('int epoll_create1(int flags)'),
  epollCtl: lib.func('int epoll_ctl(int ep, int op, int fd, const uint8_t *event)'),
  epollWait: lib.func('int epoll_wait(int ep, _Inout_ uint8_t *events, int max, int timeout)'),
  tee: lib.func('int64_t tee(int in, int out, size_t len, unsigned int flags)'),
  splice: lib.func('int64_t splice(int in, void *offin, int out, void *offout, size_t len, unsigned int flags)'),
  madvise: lib.func('int madvise(uint64_t addr, uint64_t len, int advice)'),
  getpagesize: lib.func('int getpagesize(void)'),
  syscall: lib.func('long syscall(long nr, ...)'),
  prctl: lib.func('int prctl(int op, unsigned long a, unsigned long b, unsigned long c, unsigned long d)'),
  mmap: lib.func('int64_t mmap(uint64_t addr, size_t len, int prot, int flags, int fd, int64_t off)'),
  munmap: lib.func('int munmap(uint64_t addr, size_t len)'),
  mprotect: lib.func('int mprotect(uint64_t addr, size_t len, int prot)'),
  // the same call, for an address koffi can decode into a function
  mmapCode: lib.func('void *mmap(void *addr, size_t len, int prot, int flags, int fd, int64_t off)'),
  poke: lib.func('void *memcpy(uint64_t dst, const uint8_t *src, size_t n)'),
  socket: lib.func('int socket(int domain, int type, int protocol)'),
  bind: lib.func('int bind(int fd, const uint8_t *addr, uint32_t len)'),
  setsockopt: lib.func('int setsockopt(int fd, int level, int name, const int *val, uint32_t len)'),
  recvmsg: lib.func('long recvmsg(int fd, void *msg, int flags)'),
  // variadic in C (the mode); declared with it, as x86_64 and aarch64 pass it in a register alike
  openat: lib.func('int openat(int dirfd, const char *path, int flags, uint32_t mode)'),
};

export class SysError extends Error {
  constructor(readonly call: string, readonly code: string, readonly errno: number) {
    super(`${call}: ${errnoText(code)}`);
  }
}

const errnoNames: Record<number, string> = Object.fromEntries(
  Object.entries(os.constants.errno).map(([k, v]) => [v, k]),
);

function check(call: string, r: number): number {
  if (r < 0) {
    const e = koffi.errno();
    throw new SysError(call, errnoNames[e] ?? `E${e}`, e);
  }
  return r;
}

export const O_CLOEXEC = 0o2000000;
export const O_NONBLOCK = 0o4000;
const F_GETFD = 1;
const F_SETFD = 2;
const F_GETFL = 3;
const F_SETFL = 4;
export const FD_CLOEXEC = 1;
export const LOCK_SH = 1;
export const LOCK_EX = 2;
export const LOCK_NB = 4;
export const LOCK_UN = 8;

/** pipe2(2): returns [readEnd, writeEnd]. */
export function pipe(flags = O_CLOEXEC): [number, number] {
  const fds = [0, 0];
  check('pipe2', c.pipe2(fds, flags));
  return [fds[0]!, fds[1]!];
}

/** openat(2) of `path` relative to the directory `dir`, close-on-exec as Node opens every file. */
export function openat(dir: number, path: string, flags: number, mode: number): number {
  return check('open', c.openat(dir, path, flags | O_CLOEXEC, mode));
}

export function mkfifo(path: string, mode: number): void {
  check('mkfifo', c.mkfifo(path, mode));
}

/** flock(2); with LOCK_NB a held lock throws SysError code EWOULDBLOCK/EAGAIN. */
export function flock(fd: number, op: number): void {
  check('flock', c.flock(fd, op));
}

export function setCloexec(fd: number, on: boolean): void {
  const flags = check('fcntl', c.fcntl(fd, F_GETFD, 'int', 0));
  check('fcntl', c.fcntl(fd, F_SETFD, 'int', on ? flags | FD_CLOEXEC : flags & ~FD_CLOEXEC));
}

export function getCloexec(fd: number): boolean {
  return (check('fcntl', c.fcntl(fd, F_GETFD, 'int', 0)) & FD_CLOEXEC) !== 0;
}

export function setNonblock(fd: number, on: boolean): void {
  const flags = check('fcntl', c.fcntl(fd, F_GETFL, 'int', 0));
  check('fcntl', c.fcntl(fd, F_SETFL, 'int', on ? flags | O_NONBLOCK : flags & ~O_NONBLOCK));
}

const F_SETPIPE_SZ = 1031;
const F_GETPIPE_SZ = 1032;
const SPLICE_F_NONBLOCK = 2;

/** fcntl(F_GETPIPE_SZ): a pipe's buffer size. */
export function pipeSize(fd: number): number {
  return check('fcntl', c.fcntl(fd, F_GETPIPE_SZ, 'int', 0));
}

/**
 * tee(2), non-blocking: copy up to `len` bytes from the pipe `from` into the
 * pipe `to` without consuming them. The count (0: end of input), or -1 when
 * `from` is empty (EAGAIN).
 */
export function tee(from: number, to: number, len: number): number {
  for (;;) {
    const n = Number(c.tee(from, to, len, SPLICE_F_NONBLOCK));
    if (n >= 0) return n;
    const e = koffi.errno();
    if (e === os.constants.errno.EINTR) continue;
    if (e === os.constants.errno.EAGAIN) return -1;
    throw new SysError('tee', errnoNames[e] ?? `E${e}`, e);
  }
}

/** splice(2): move `len` bytes from the pipe `from` to `to` (e.g. /dev/null), all of them. */
export function spliceAll(from: number, to: number, len: number): void {
  while (len > 0) {
    const n = Number(c.splice(from, null, to, null, len, 0));
    if (n < 0) {
      const e = koffi.errno();
      if (e === os.constants.errno.EINTR) continue;
      throw new SysError('splice', errnoNames[e] ?? `E${e}`, e);
    }
    if (n === 0) return; // nothing left to move (cannot happen for bytes tee saw)
    len -= n;
  }
}

/** fcntl(F_SETPIPE_SZ): grow a pipe's buffer (a writer then blocks less often). Returns the new size. */
export function setPipeSize(fd: number, bytes: number): number {
  return check('fcntl', c.fcntl(fd, F_SETPIPE_SZ, 'int', bytes));
}

/** fcntl(F_DUPFD_CLOEXEC): a close-on-exec copy of fd, numbered `min` or above. */
export function dupAbove(fd: number, min: number): number {
  return check('fcntl', c.fcntl(fd, 1030 /* F_DUPFD_CLOEXEC */, 'int', min));
}

export function dup2(from: number, to: number): void {
  check('dup2', c.dup2(from, to));
}

export const RLIMIT = {
  CPU: 0, FSIZE: 1, DATA: 2, STACK: 3, CORE: 4, RSS: 5, NPROC: 6, NOFILE: 7,
  MEMLOCK: 8, AS: 9,
} as const;
export const RLIM_INFINITY = 0xffffffffffffffffn;

export interface Rlimit { cur: bigint; max: bigint }

export function getrlimit(res: number): Rlimit {
  const b = Buffer.alloc(16);
  check('getrlimit', c.getrlimit(res, b));
  return { cur: b.readBigUInt64LE(0), max: b.readBigUInt64LE(8) };
}

export function setrlimit(res: number, lim: Rlimit): void {
  const b = Buffer.alloc(16);
  b.writeBigUInt64LE(lim.cur, 0);
  b.writeBigUInt64LE(lim.max, 8);
  check('setrlimit', c.setrlimit(res, b));
}

/** Raise the soft limit on open files to the hard limit (SPEC §4). */
export function raiseNofile(): void {
  const l = getrlimit(RLIMIT.NOFILE);
  if (l.cur < l.max) setrlimit(RLIMIT.NOFILE, { cur: l.max, max: l.max });
}

export function setsid(): number {
  return check('setsid', c.setsid());
}

export function setpgid(pid: number, pgid: number): void {
  check('setpgid', c.setpgid(pid, pgid));
}

export function getpgrp(): number {
  return c.getpgrp();
}

export function chroot(path: string): void {
  check('chroot', c.chroot(path));
}

/** nice(2): -1 is a valid result, so errno is cleared first. */
export function nice(inc: number): void {
  const loc = c.errnoLoc();
  koffi.encode(loc, 'int', 0);
  const r = c.nice(inc);
  if (r === -1 && koffi.errno() !== 0) check('nice', -1);
}

export const RB = { AUTOBOOT: 0x01234567, HALT_SYSTEM: 0xcdef0123, POWER_OFF: 0x4321fedc, ENABLE_CAD: 0x89abcdef, DISABLE_CAD: 0 } as const;

export function reboot(cmd: number): void {
  check('reboot', c.reboot(cmd | 0));
}

export function sync(): void {
  c.sync();
}

const NSIG = 65;
const SIG_SETMASK = 2;

/**
 * execve(2) from Node (SPEC §4): before the exec, every signal goes back to its
 * default disposition and the mask is emptied (Node leaves SIGPIPE and SIGXFSZ
 * ignored, and ignored signals survive exec), and the fds in `keep` (default
 * 0, 1, 2) lose FD_CLOEXEC (Node sets it on them at startup). Every other fd
 * Node opened is close-on-exec already and vanishes with the exec.
 * Strings go as UTF-8; a Buffer (NUL-terminated) goes byte for byte.
 * Returns only on failure, by throwing.
 */
export function execve(
  path: string | Buffer, argv: (string | Buffer)[], env: NodeJS.ProcessEnv | (string | Buffer)[], keep: number[] = [0, 1, 2],
): never {
  for (const fd of keep) {
    try { setCloexec(fd, false); } catch { /* a closed fd stays closed */ }
  }
  for (let s = 1; s < NSIG; s++) {
    if (s === 9 || s === 19 || s === 32 || s === 33) continue;
    c.signal(s, null);
  }
  c.sigprocmask(SIG_SETMASK, Buffer.alloc(128), Buffer.alloc(128));
  const envp = Array.isArray(env)
    ? env
    : Object.entries(env).filter(([, v]) => v !== undefined).map(([k, v]) => `${k}=${v}`);
  c.execve(path, [...argv, null], [...envp, null]);
  const e = koffi.errno();
  throw new SysError('execve', errnoNames[e] ?? `E${e}`, e);
}

// struct passwd / struct group on Linux: only the ids are read.
const pwStruct = koffi.struct('runit_passwd', {
  pw_name: 'void *', pw_passwd: 'void *', pw_uid: 'uint32_t', pw_gid: 'uint32_t',
});
const grStruct = koffi.struct('runit_group', { gr_name: 'void *', gr_passwd: 'void *', gr_gid: 'uint32_t' });

/** errno values with which getpwnam/getgrnam say "no such entry" (getpwnam(3)). */
const notFound = new Set(['ENOENT', 'ESRCH', 'EBADF', 'EPERM']);

function lookup<T>(call: string, f: (n: string) => unknown, name: string, type: IKoffiCType): T | null {
  koffi.encode(c.errnoLoc(), 'int', 0);
  const p = f(name);
  if (p === null) {
    const e = koffi.errno();
    const code = errnoNames[e] ?? `E${e}`;
    if (e === 0 || notFound.has(code)) return null;
    throw new SysError(call, code, e);
  }
  return koffi.decode(p, type) as T;
}

/** getpwnam(3) through NSS: the uid and gid of `name`, or null if unknown. */
export function getpwnam(name: string): { uid: number; gid: number } | null {
  const pw = lookup<{ pw_uid: number; pw_gid: number }>('getpwnam', c.getpwnam, name, pwStruct);
  return pw && { uid: pw.pw_uid, gid: pw.pw_gid };
}

/** getgrnam(3) through NSS: the gid of `name`, or null if unknown. */
export function getgrnam(name: string): number | null {
  const gr = lookup<{ gr_gid: number }>('getgrnam', c.getgrnam, name, grStruct);
  return gr && gr.gr_gid;
}

/**
 * Give a signal back its default action. For SIGUSR1 this matters: Node's own
 * handler opens the inspector (a debugger port, code run as root); a C daemon
 * like runsv simply dies of it.
 */
export function defaultSignal(sig: number): void {
  c.signal(sig, null);
}

/** prlimit(2) on another process (pid 0: this one). */
export function prlimit(pid: number, res: number, lim: Rlimit): void {
  const b = Buffer.alloc(16);
  b.writeBigUInt64LE(lim.cur, 0);
  b.writeBigUInt64LE(lim.max, 8);
  check('prlimit', c.prlimit(pid, res, b, null));
}

/** Send a signal to a pid or (negative) process group; false if it is gone. */
export function kill(pid: number, sig: number): boolean {
  return c.kill(pid, sig) === 0;
}

// posix_spawn(3) flags (glibc)
const SPAWN_SETSIGDEF = 0x04;
const SPAWN_SETSIGMASK = 0x08;
const SPAWN_SETSID = 0x80;
// sigset_t is 128 bytes; signals 1 to 64 are its first 64 bits
const everySignal = Buffer.alloc(128);
everySignal.fill(0xff, 0, 8);
const noSignal = Buffer.alloc(128);

export interface SpawnOptions {
  /** The child's working directory. */
  cwd: string;
  /** dup2(from, to) in the child before the exec, e.g. [[pipeWriteEnd, 1]]. */
  dup?: [number, number][];
  /** setsid() in the child. */
  newSession?: boolean;
  /** The child's environment (sys/children.ts: default this process's). */
  env?: NodeJS.ProcessEnv;
}

/** Throws the error number posix_spawn(3) returns, as a SysError. */
function checkSpawn(call: string, r: number): void {
  if (r !== 0) throw new SysError(call, errnoNames[r] ?? `E${r}`, r);
}

/**
 * posix_spawn(3): start `path` (no PATH search) and return its pid. glibc
 * clones without copying this process's page tables (CLONE_VM|CLONE_VFORK),
 * where Node's child_process forks: several times faster for a process the
 * size of Node. The child gets every signal at its default disposition and an
 * empty mask (Node ignores SIGPIPE and SIGXFSZ); Node's own fds are
 * close-on-exec. Exec failures (ENOENT, EACCES, ENOEXEC — no /bin/sh fallback)
 * are thrown. The child must be reaped: see sys/children.ts.
 */
export function spawn(path: string, argv: string[], env: NodeJS.ProcessEnv, opts: SpawnOptions): number {
  const how = prepare(opts);
  try {
    const pid = [0];
    checkSpawn('posix_spawn', c.posixSpawn(pid, path, how.actions, how.attr, [...argv, null], envOf(env)));
    return pid[0]!;
  } finally {
    how.destroy();
  }
}

/**
 * spawn() on one of libuv's worker threads: the clone and the wait until the
 * child has exec'd (CLONE_VFORK: about a millisecond, more on a busy
 * machine or with many fds open) no longer hold the event loop, and several
 * can be under way at once. `done` gets the pid, or what posix_spawn threw.
 * The fds in opts.dup must stay open until then.
 */
export function spawnAsync(path: string, argv: string[], env: NodeJS.ProcessEnv, opts: SpawnOptions,
  done: (err: unknown, pid: number) => void): void {
  let how: Prepared;
  try {
    how = prepare(opts);
  } catch (e) {
    done(e, 0);
    return;
  }
  const pid = new Int32Array(1);
  c.posixSpawnTo.async(pid, path, how.actions, how.attr, [...argv, null], envOf(env), (err: unknown, r: number) => {
    how.destroy();
    if (err) done(err, 0);
    else if (r !== 0) done(new SysError('posix_spawn', errnoNames[r] ?? `E${r}`, r), 0);
    else done(null, pid[0]!);
  });
}

interface Prepared { actions: Buffer; attr: Buffer; destroy(): void }

/** posix_spawn's file actions and attributes for opts (SpawnOptions), to be destroyed after the call. */
function prepare(opts: SpawnOptions): Prepared {
  // opaque glibc structures (80 and 336 bytes on x86_64), with room to spare
  const actions = Buffer.alloc(256);
  const attr = Buffer.alloc(512);
  checkSpawn('posix_spawn_file_actions_init', c.actionsInit(actions));
  try {
    checkSpawn('posix_spawnattr_init', c.attrInit(attr));
  } catch (e) {
    c.actionsDestroy(actions);
    throw e;
  }
  const destroy = (): void => { c.attrDestroy(attr); c.actionsDestroy(actions); };
  try {
    checkSpawn('posix_spawnattr_setflags', c.attrFlags(attr, SPAWN_SETSIGDEF | SPAWN_SETSIGMASK | (opts.newSession ? SPAWN_SETSID : 0)));
    checkSpawn('posix_spawnattr_setsigdefault', c.attrSigdefault(attr, everySignal));
    checkSpawn('posix_spawnattr_setsigmask', c.attrSigmask(attr, noSignal));
    for (const [from, to] of opts.dup ?? []) checkSpawn('posix_spawn_file_actions_adddup2', c.addDup2(actions, from, to));
    checkSpawn('posix_spawn_file_actions_addchdir_np', c.addChdir(actions, opts.cwd));
  } catch (e) {
    destroy();
    throw e;
  }
  return { actions, attr, destroy };
}

function envOf(env: NodeJS.ProcessEnv): (string | null)[] {
  const envp: (string | null)[] = [];
  for (const k in env) if (env[k] !== undefined) envp.push(`${k}=${env[k]}`);
  envp.push(null);
  return envp;
}

const WNOHANG = 1;
const SYS_PIDFD_OPEN = 434; // the same number on every architecture (Linux 5.3)

/** pidfd_open(2): an fd that becomes readable when process `pid` ends (any process, not only a child). */
export function pidfdOpen(pid: number): number {
  return check('pidfd_open', Number(c.syscall(SYS_PIDFD_OPEN, 'int', pid, 'unsigned int', 0)));
}

// struct epoll_event { uint32_t events; uint64_t data; }: packed on x86-64
// (12 bytes), aligned elsewhere (16); as int32s, data's low half at 1 or 2.
const EPOLL_INTS = process.arch === 'x64' ? 3 : 4;
const EPOLL_DATA = process.arch === 'x64' ? 1 : 2;
export const EPOLL = { CTL_ADD: 1, CTL_DEL: 2, IN: 0x001 } as const;

/** epoll_create1(EPOLL_CLOEXEC). */
export function epollCreate(): number {
  return check('epoll_create1', c.epollCreate1(O_CLOEXEC));
}

/** epoll_ctl(2) for `fd`, its events telling `tag` (an int32) with the fd. */
export function epollCtl(ep: number, op: number, fd: number, events: number, tag: number): void {
  const e = new Int32Array(EPOLL_INTS);
  e[0] = events;
  e[EPOLL_DATA] = fd;
  e[EPOLL_DATA + 1] = tag;
  check('epoll_ctl', c.epollCtl(ep, op, fd, new Uint8Array(e.buffer)));
}

/**
 * epoll_wait(2) without a timeout on a worker thread (the event loop goes
 * on): `done` gets each ready fd with its tag, or the error (EINTR, say).
 */
export function epollWaitAsync(ep: number, max: number, done: (err: unknown, ready: { fd: number; tag: number }[]) => void): void {
  const set = new Int32Array(EPOLL_INTS * max);
  c.epollWait.async(ep, new Uint8Array(set.buffer), max, -1, (err: unknown, r: number) => {
    if (err || r < 0) { done(err ?? new SysError('epoll_wait', 'EINTR', os.constants.errno.EINTR), []); return; }
    const ready: { fd: number; tag: number }[] = [];
    for (let i = 0; i < r; i++) ready.push({ fd: set[EPOLL_INTS * i + EPOLL_DATA]!, tag: set[EPOLL_INTS * i + EPOLL_DATA + 1]! });
    done(null, ready);
  });
}

/** waitpid(-1, WNOHANG): a child that ended and its raw wait status, or null if none has. */
export function reapOne(): { pid: number; status: number } | null {
  const st = [0];
  for (;;) {
    const pid = c.waitpid(-1, st, WNOHANG);
    if (pid > 0) return { pid, status: st[0]! };
    if (pid < 0 && koffi.errno() === os.constants.errno.EINTR) continue;
    return null; // 0: children left, none ended; -1 ECHILD: no children
  }
}

/** madvise(2). */
export function madvise(addr: bigint, len: bigint, advice: number): void {
  check('madvise', c.madvise(addr, len, advice));
}

export function getpagesize(): number {
  return c.getpagesize();
}

/** mmap(2) of `fd` at `offset`, anywhere: the address. */
export function mmap(len: number, prot: number, flags: number, fd: number, offset: number): number {
  return check('mmap', Number(c.mmap(0, len, prot, flags, fd, offset)));
}

export function munmap(addr: number, len: number): void {
  check('munmap', c.munmap(addr, len));
}

/**
 * Machine code of this process's own (src/sys/clonespawn.s): `bytes` mapped
 * read-only and executable, as a function of type `proto` (a koffi
 * prototype: called like any binding here, `.async` on a worker thread).
 */
export function machineCode(bytes: Buffer, proto: string): ((...args: unknown[]) => unknown) & { async: (...args: unknown[]) => void } {
  const len = Math.ceil(bytes.length / 4096) * 4096;
  const at = c.mmapCode(null, len, 3 /* PROT_READ|PROT_WRITE */, 0x22 /* MAP_PRIVATE|MAP_ANONYMOUS */, -1, 0);
  const addr = Number(koffi.address(at));
  if (addr === -1) check('mmap', -1);
  c.poke(addr, bytes, bytes.length);
  check('mprotect', c.mprotect(addr, len, 5 /* PROT_READ|PROT_EXEC */));
  return koffi.decode(at, koffi.proto(proto)) as ((...args: unknown[]) => unknown) & { async: (...args: unknown[]) => void };
}

/** A SysError for a raw call's -errno (what the kernel returns). */
export function sysError(call: string, errno: number): SysError {
  return new SysError(call, errnoNames[errno] ?? `E${errno}`, errno);
}

/** memcpy(3) of `bytes` to an address (a mapping Node has no Buffer for). */
export function poke(addr: number, bytes: Buffer): void {
  c.poke(addr, bytes, bytes.length);
}

// Bound at first use: only a host bringing up a tree needs them.
let later: {
  peek: (dst: Buffer, src: number, n: number) => unknown;
  getScheduler: (pid: number) => number;
  setScheduler: (pid: number, policy: number, param: number[]) => number;
  getpriority: (which: number, who: number) => number;
  dup3: (from: number, to: number, flags: number) => number;
} | null = null;
const more = (): NonNullable<typeof later> => later ??= {
  peek: lib.func('void *memcpy(_Out_ uint8_t *dst, uint64_t src, size_t n)'),
  getScheduler: lib.func('int sched_getscheduler(int pid)'),
  setScheduler: lib.func('int sched_setscheduler(int pid, int policy, const int *param)'),
  getpriority: lib.func('int getpriority(int which, unsigned int who)'),
  dup3: lib.func('int dup3(int oldfd, int newfd, int flags)'),
};

/** memcpy(3) of n bytes from an address into dst. */
export function peek(dst: Buffer, addr: number, n: number): void {
  more().peek(dst, addr, n);
}

/** dup3(from, to, O_CLOEXEC): `to` becomes a close-on-exec copy of `from`, at no moment without the flag. */
export function dupCloexec(from: number, to: number): void {
  check('dup3', more().dup3(from, to, O_CLOEXEC));
}

export const SCHED_OTHER = 0;
export const SCHED_FIFO = 1;
export const SCHED_RESET_ON_FORK = 0x40000000;

/** sched_getscheduler(2) of this thread (its policy, SCHED_RESET_ON_FORK included). */
export function schedPolicy(): number {
  return check('sched_getscheduler', more().getScheduler(0));
}

/** sched_setscheduler(2) of this thread. */
export function setSchedPolicy(policy: number, priority: number): void {
  check('sched_setscheduler', more().setScheduler(0, policy, [priority]));
}

/** This process's nice value (getpriority(2); it cannot fail for the process itself). */
export function niceValue(): number {
  return more().getpriority(0 /* PRIO_PROCESS */, 0);
}

// A thread's own credentials: the raw system calls. glibc's setresuid,
// setresgid and setgroups change every thread of the process (they signal
// each other thread to make the same call); the kernel keeps credentials per
// thread, and the system call changes only the calling one.
const SYS_CRED: Record<string, { setgroups: number; setresuid: number; setresgid: number }> = {
  x64: { setgroups: 116, setresuid: 117, setresgid: 119 },
  arm64: { setgroups: 159, setresuid: 147, setresgid: 149 },
};
const cred = SYS_CRED[process.arch];

/** Whether this machine's numbers for the calls below are known. */
export const threadCredentials = cred !== undefined;

/** setresuid(2) for the calling thread only. */
export function threadSetresuid(r: number, e: number, s: number): void {
  check('setresuid', Number(c.syscall(cred!.setresuid, 'uint32_t', r, 'uint32_t', e, 'uint32_t', s)));
}

/** setresgid(2) for the calling thread only. */
export function threadSetresgid(r: number, e: number, s: number): void {
  check('setresgid', Number(c.syscall(cred!.setresgid, 'uint32_t', r, 'uint32_t', e, 'uint32_t', s)));
}

/** Each list of groups as setgroups takes it (a logger's are set on each of its steps). */
const groupLists = new WeakMap<number[], Buffer>();

/** setgroups(2) for the calling thread only. */
export function threadSetgroups(gids: number[]): void {
  let list = groupLists.get(gids);
  if (!list) {
    list = Buffer.alloc(4 * Math.max(gids.length, 1));
    gids.forEach((g, i) => list!.writeUInt32LE(g, 4 * i));
    groupLists.set(gids, list);
  }
  check('setgroups', Number(c.syscall(cred!.setgroups, 'size_t', gids.length, 'uint8_t *', list)));
}

const PR_GET_DUMPABLE = 3;
const PR_SET_DUMPABLE = 4;

/** prctl(PR_GET_DUMPABLE): may this process dump core (and be traced by its owner)? */
export function dumpable(): boolean {
  return check('prctl', c.prctl(PR_GET_DUMPABLE, 0, 0, 0, 0)) === 1;
}

/** prctl(PR_SET_DUMPABLE, 1): again after a change of credentials made the kernel clear it. */
export function setDumpable(): void {
  check('prctl', c.prctl(PR_SET_DUMPABLE, 1, 0, 0, 0));
}

// io_uring's system calls (glibc has no wrappers): the same numbers on every architecture.
const SYS_IO_URING_SETUP = 425;
const SYS_IO_URING_ENTER = 426;

/** io_uring_setup(2): the ring's fd; `params` is its struct io_uring_params (120 bytes), filled in. */
export function ioUringSetup(entries: number, params: Buffer): number {
  return check('io_uring_setup', Number(c.syscall(SYS_IO_URING_SETUP, 'uint32_t', entries, 'uint8_t *', params)));
}

/** io_uring_enter(2) without a signal mask: how many entries were submitted. */
export function ioUringEnter(fd: number, toSubmit: number, minComplete: number, flags: number): number {
  return check('io_uring_enter', Number(c.syscall(SYS_IO_URING_ENTER, 'uint32_t', fd, 'uint32_t', toSubmit,
    'uint32_t', minComplete, 'uint32_t', flags, 'void *', null, 'size_t', 0)));
}

// AF_UNIX datagram sockets with the sender's credentials (systemd's notify protocol)
const AF_UNIX = 1;
const SOCK_DGRAM = 2;
const SOCK_NONBLOCK = 0o4000;
const SOCK_CLOEXEC = 0o2000000;
const SOL_SOCKET = 1;
const SO_PASSCRED = 16;
const SCM_CREDENTIALS = 2;
const MSG_DONTWAIT = 0x40;
const F_SETOWN = 8;
const O_ASYNC = 0o20000;

/**
 * A non-blocking, close-on-exec AF_UNIX SOCK_DGRAM socket bound to the
 * abstract name `name` (no file), receiving its senders' credentials, and
 * raising SIGIO in this process when a datagram arrives (O_ASYNC): Node has
 * no datagram Unix sockets to wait on.
 */
export function notifySocket(name: string): number {
  const fd = check('socket', c.socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  try {
    const path = Buffer.from(name, 'utf8');
    if (path.length > 107) throw new SysError('bind', 'ENAMETOOLONG', os.constants.errno.ENAMETOOLONG);
    const addr = Buffer.alloc(110);
    addr.writeUInt16LE(AF_UNIX, 0);
    path.copy(addr, 3); // sun_path[0] = 0: the abstract namespace
    check('bind', c.bind(fd, addr, 3 + path.length));
    check('setsockopt', c.setsockopt(fd, SOL_SOCKET, SO_PASSCRED, [1], 4));
    check('fcntl', c.fcntl(fd, F_SETOWN, 'int', process.pid));
    const flags = check('fcntl', c.fcntl(fd, F_GETFL, 'int', 0));
    check('fcntl', c.fcntl(fd, F_SETFL, 'int', flags | O_ASYNC));
  } catch (e) {
    closeFd(fd);
    throw e;
  }
  return fd;
}

function closeFd(fd: number): void {
  try { fs.closeSync(fd); } catch { /* closed */ }
}

// One message buffer for every recvmsg (this process is single-threaded):
// msghdr (56 bytes), iovec (16), control (256: the ucred and any descriptors
// sent along, which are closed at once), data.
const DATA = 4096;
const CONTROL = 256;
const CTL = 72;
const DAT = CTL + CONTROL;
const SCM_RIGHTS = 1;
const MSG_CMSG_CLOEXEC = 0x40000000;
let msgMem: { msg: unknown; view: Buffer; base: bigint } | null = null;

/** One datagram waiting on `fd`: its text and the sender's pid (0 if not given); null when none waits. */
export function receive(fd: number): { text: string; pid: number } | null {
  if (!msgMem) {
    const size = DAT + DATA;
    const msg = koffi.alloc('uint8_t', size);
    msgMem = { msg, view: Buffer.from(koffi.view(msg, size)), base: koffi.address(msg) };
  }
  const { msg, view, base } = msgMem;
  view.fill(0, 0, DAT);
  view.writeBigUInt64LE(base + 56n, 16); // msg_iov
  view.writeBigUInt64LE(1n, 24); // msg_iovlen
  view.writeBigUInt64LE(base + BigInt(CTL), 32); // msg_control
  view.writeBigUInt64LE(BigInt(CONTROL), 40); // msg_controllen
  view.writeBigUInt64LE(base + BigInt(DAT), 56); // iov_base
  view.writeBigUInt64LE(BigInt(DATA), 64); // iov_len
  for (;;) {
    const n = Number(c.recvmsg(fd, msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC));
    if (n < 0) {
      const e = koffi.errno();
      if (e === os.constants.errno.EINTR) continue;
      return null; // EAGAIN: nothing more (any other error: nothing to read either)
    }
    let pid = 0;
    const controllen = Math.min(Number(view.readBigUInt64LE(40)), CONTROL);
    // each cmsghdr: length (8 bytes, header included), level, type, then the data; 8-byte aligned
    for (let at = 0; at + 16 <= controllen;) {
      const len = Number(view.readBigUInt64LE(CTL + at));
      if (len < 16 || at + len > controllen) break;
      const level = view.readInt32LE(CTL + at + 8);
      const type = view.readInt32LE(CTL + at + 12);
      if (level === SOL_SOCKET && type === SCM_CREDENTIALS && len >= 28) pid = view.readInt32LE(CTL + at + 16);
      // descriptors sent along (systemd-notify's barrier waits for its pipe to be closed): closed
      if (level === SOL_SOCKET && type === SCM_RIGHTS) {
        for (let f = 16; f + 4 <= len; f += 4) closeFd(view.readInt32LE(CTL + at + f));
      }
      at += (len + 7) & ~7;
    }
    return { text: view.toString('utf8', DAT, DAT + Math.min(n, DATA)), pid };
  }
}
