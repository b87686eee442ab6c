// Children started without copying this process's fd table (x86-64 Linux).
//
// A host that supervises a thousand services holds four fds for each. With
// posix_spawn(3) each new child gets a copy of that whole table, and its exec
// then closes every copied fd again: at 4000 fds that is about 0.4 ms of the
// child's CPU and 0.03 ms of ours for each child, on top of ~0.5 ms for the
// exec itself (bench/bring-up measures a whole tree). The routine in
// clonespawn.s shares the table (CLONE_FILES) and has the child make a table
// of its own from only the first few dozen fds (close_range's
// CLOSE_RANGE_UNSHARE, Linux 5.9), where the fds it is given wait on slots.
//
// What the child gets is what posix_spawn gives it (libc.ts spawn): every
// signal at its default action, an empty mask, setsid when asked, the dups in
// order, the directory, the exec's errors, and the fds that are not
// close-on-exec when the first child is started (what this process was given,
// say: runsv passes it on). An fd opened since then reaches the child only as
// a dup, close-on-exec or not (posix_spawn passes on any that is not).
// Elsewhere (another architecture, an older kernel, a request that does not
// fit) the callers use posix_spawn: start() and startAsync() return false.
import fs from 'node:fs';
import { dupAbove, getCloexec, machineCode, mmap, munmap, poke, sysError, type SpawnOptions } from './libc.js';

/** clonespawn.s, assembled (`as`, then `objcopy -O binary -j .text`). */
const CODE = 'U0FUQVVJifxFMe1FO2wkLHMpQ4u87MAAAABDi7TsxAAAALoAAAgAuCQBAAAPBUiJw0iFwHh1Qf/F69C4DgAAAL8CAAAASY10JEhJjVQkQEG6CAAAAA8FuDgAAAC/EUUAAEUx0kGDfCR4AHQKvxEFIABNjVQkfEmLdCQ4MdJFMcAPBUiFwHRqSInDuA4AAAC/AgAAAEmNdCRAMdJBuggAAAAPBUGDfCR4AHU9RTHtRTtsJCxzHkGLfCQ0Q4u07MQAAAC6AAAIALgkAQAADwVB/8Xr20iF23gQSWNEJDBIhcB0Bkj32EiJw0iJ2EFdQVxbw0mLfCQYSIX/dBC4UAAAAA8FSIXAD4jGAAAAuLQBAABBi3wkJL7/////ugIAAAAPBUiFwA+FqwAAAEG9AQAAALgNAAAARInvSY10JFgx0kG6CAAAAA8FQf/FQYP9QHbgQYN8JCAAdAy4cAAAAA8FSIXAeG1FMe1FO2wkKHM1Q4u87IAAAABDi7TshAAAADn3dRC4SAAAAL4CAAAAMdIPBesHuCEAAAAPBUiFwHgzQf/F68S4DgAAAL8CAAAASY10JFAx0kG6CAAAAA8FuDsAAABJizwkSYt0JAhJi1QkEA8F99jrB/fYDQAAAQBBiUQkMLjnAAAAv38AAAAPBfQ=';

/** Spawns under way at once: three on worker threads (children.ts AT_ONCE) and one on the main thread. */
const GROUPS = 4;
const DUPS = 8;
const SLOTS = 4;
/**
 * Slots lent to the children unwaited.ts starts, each until its child has
 * exec'd: as many as such children commonly overlap in a tree's first burst
 * (a logged service's stdout, a logger's stdin). Every child copies them in
 * its table of its own, and its exec closes them (64 entries more of each).
 */
export const SPARE_SLOTS = 64;
/** Each group's memory: the request, its strings, the environment's, the child's stack. */
export const REGION = 64 * 1024;
const HEADER = 256;
const ENV_AT = 16 * 1024;
const STACK_TOP = REGION;
const ENV_END = REGION - 4096;
/** The error bit of a kernel that cannot unshare in close_range. */
export const NO_UNSHARE = 0x10000;

export interface Group {
  addr: number;
  slots: number[];
  /** The request's fixed fields (keep, devnull, stack, masks, SIG_DFL). */
  template: Buffer;
  /** The environment written at ENV_AT, and the address of its envp. */
  env: NodeJS.ProcessEnv | null;
}

export interface Spawner {
  fn: ((addr: number) => number) & { async: (addr: number, cb: (err: unknown, r: number) => void) => void };
  free: Group[];
  slotSet: Set<number>;
  /** The slots free to lend (unwaited.ts). */
  spare: number[];
  /** What every request's fixed fields start from (a group's without its stack). */
  keep: number;
  devnull: number;
}

/** undefined: not tried yet; null: none here. */
let spawner: Spawner | null | undefined;

function setUp(): Spawner | null {
  if (process.arch !== 'x64' || process.platform !== 'linux') return null;
  try {
    const fn = machineCode(Buffer.from(CODE, 'base64'), 'long CloneSpawn(uint64_t request)') as unknown as Spawner['fn'];
    const base = mmap(GROUPS * REGION, 3 /* PROT_READ|PROT_WRITE */, 0x22 /* MAP_PRIVATE|MAP_ANONYMOUS */, -1, 0);
    // what a slot holds between calls; close-on-exec, above stdio (which a
    // process started without it has closed, and keeps closed for its children)
    const opened = fs.openSync('/dev/null', 'r');
    const devnull = dupAbove(opened, 3);
    fs.closeSync(opened);
    const slotsOf = Array.from({ length: GROUPS }, () => Array.from({ length: SLOTS }, () => dupAbove(devnull, 3)));
    const spare = Array.from({ length: SPARE_SLOTS }, () => dupAbove(devnull, 3));
    // above every slot and every fd passed on so far
    const inherited = fs.readdirSync('/proc/self/fd').map(Number).filter((fd) => { try { return !getCloexec(fd); } catch { return false; } });
    const keep = Math.max(devnull, ...slotsOf.flat(), ...spare, ...inherited) + 1;
    const made = { keep, devnull };
    const free = slotsOf.map((slots, i) => group(made, base + i * REGION, slots));
    return { fn, free, slotSet: new Set([...slotsOf.flat(), ...spare]), spare, ...made };
  } catch {
    return null;
  }
}

/** A request's memory at addr: its fixed fields (keep, devnull, stack, masks, SIG_DFL), and slots. */
export function group(s: Pick<Spawner, 'keep' | 'devnull'>, addr: number, slots: number[]): Group {
  const t = Buffer.alloc(HEADER);
  t.writeUInt32LE(s.keep, 36);
  t.writeInt32LE(s.devnull, 52);
  t.writeBigUInt64LE(BigInt(addr + STACK_TOP), 56);
  t.writeBigUInt64LE(0xffffffffffffffffn, 72); // every signal
  return { addr, slots, template: t, env: null };
}

export function get(): Spawner | null {
  if (spawner === undefined) spawner = setUp();
  return spawner;
}

/** Writes the request into g's memory; false if it does not fit (posix_spawn then). */
export function write(s: Spawner, g: Group, path: string, argv: string[], env: NodeJS.ProcessEnv, opts: SpawnOptions): boolean {
  const dups: [number, number][] = [];
  const moves: [number, number][] = [];
  const targets = new Set<number>();
  for (const [from, to] of opts.dup ?? []) {
    if (s.slotSet.has(to) || dups.length === DUPS) return false;
    let src = from;
    if (from >= 3) {
      // an fd an earlier dup replaced: in order, as posix_spawn applies them
      if (targets.has(from) || moves.length === g.slots.length) return false;
      src = g.slots[moves.length]!;
      moves.push([from, src]);
    }
    targets.add(to);
    dups.push([src, to]);
  }
  const ep = envp(g, env);
  if (ep === null) return false;
  const strings = [path, opts.cwd, ...argv];
  let size = HEADER + 8 * (argv.length + 1);
  for (const x of strings) size += 3 * x.length + 1;
  if (size > ENV_AT) return false;
  const b = Buffer.allocUnsafe(size);
  g.template.copy(b, 0);
  const vec = HEADER;
  let at = vec + 8 * (argv.length + 1);
  const put = (x: string): number => {
    const where = at;
    at += b.write(x, at);
    b[at++] = 0;
    return g.addr + where;
  };
  b.writeBigUInt64LE(BigInt(put(path)), 0);
  b.writeBigUInt64LE(BigInt(g.addr + vec), 8);
  b.writeBigUInt64LE(BigInt(ep), 16);
  b.writeBigUInt64LE(BigInt(put(opts.cwd)), 24);
  argv.forEach((x, i) => b.writeBigUInt64LE(BigInt(put(x)), vec + 8 * i));
  b.writeBigUInt64LE(0n, vec + 8 * argv.length);
  b.writeUInt32LE(opts.newSession ? 1 : 0, 32);
  b.writeUInt32LE(dups.length, 40);
  b.writeUInt32LE(moves.length, 44);
  b.writeInt32LE(0, 48);
  dups.forEach(([f, t], i) => { b.writeInt32LE(f, 128 + 8 * i); b.writeInt32LE(t, 132 + 8 * i); });
  moves.forEach(([f, t], i) => { b.writeInt32LE(f, 192 + 8 * i); b.writeInt32LE(t, 196 + 8 * i); });
  poke(g.addr, b.subarray(0, at));
  return true;
}

/** env as an envp array followed by its strings, for memory at addr; null if over `room` bytes. */
function envBytes(env: NodeJS.ProcessEnv, addr: number, room: number): Buffer | null {
  const vars: string[] = [];
  for (const k in env) if (env[k] !== undefined) vars.push(`${k}=${env[k]}`);
  let size = 8 * (vars.length + 1);
  for (const v of vars) size += 3 * v.length + 1;
  if (size > room) return null;
  const b = Buffer.allocUnsafe(size);
  let at = 8 * (vars.length + 1);
  vars.forEach((v, i) => {
    b.writeBigUInt64LE(BigInt(addr + at), 8 * i);
    at += b.write(v, at);
    b[at++] = 0;
  });
  b.writeBigUInt64LE(0n, 8 * vars.length);
  return b.subarray(0, at);
}

/**
 * The first environment asked for but process.env (the copy a supervisor
 * gives every child but those with a variable of their own), written once in
 * memory of its own that every request's envp then points at. Never written
 * again nor given back: a child may read it until its exec. undefined: none
 * asked for yet; null: it did not fit.
 */
let common: { env: NodeJS.ProcessEnv; envp: number } | null | undefined;

/** The envp for a request of g's with env; null if env does not fit (posix_spawn then). */
function envp(g: Group, env: NodeJS.ProcessEnv): number | null {
  // (not process.env, which may change while it is the same object)
  if (common === undefined && env !== process.env) {
    common = null;
    const room = ENV_END - ENV_AT;
    let addr = 0;
    try { addr = mmap(room, 3 /* PROT_READ|PROT_WRITE */, 0x22 /* MAP_PRIVATE|MAP_ANONYMOUS */, -1, 0); } catch { /* each request's own then */ }
    const b = addr ? envBytes(env, addr, room) : null;
    if (b) {
      poke(addr, b);
      common = { env, envp: addr };
    } else if (addr) {
      munmap(addr, room);
    }
  }
  if (common?.env === env) return common.envp;
  if (g.env !== env) {
    const b = envBytes(env, g.addr + ENV_AT, ENV_END - ENV_AT);
    if (!b) return null;
    poke(g.addr + ENV_AT, b);
    g.env = env;
  }
  return g.addr + ENV_AT;
}

/** This kernel cannot unshare the fd table in close_range (a child told so): posix_spawn from now on. */
export function cannotUnshare(): void {
  spawner = null;
}

/** The routine's answer: the pid, else the error (thrown or given); null: the kernel cannot, use posix_spawn. */
export function answer(r: number): number | Error | null {
  if (r > 0) return r;
  const e = -r;
  if (e & NO_UNSHARE) {
    spawner = null;
    return null;
  }
  return sysError('spawn', e);
}

/**
 * posix_spawn's work (libc.ts spawn), on this thread: the pid, or false when
 * this machine or request needs posix_spawn. Throws what the exec or a step
 * before it failed with.
 */
export function start(path: string, argv: string[], env: NodeJS.ProcessEnv, opts: SpawnOptions): number | false {
  const s = get();
  const g = s?.free.pop();
  if (!s || !g) return false;
  try {
    if (!write(s, g, path, argv, env, opts)) return false;
    const a = answer(s.fn(g.addr));
    if (a === null) return false;
    if (a instanceof Error) throw a;
    return a;
  } finally {
    s.free.push(g);
  }
}

/**
 * start() on one of libuv's worker threads; false (and `done` not called)
 * when this machine or request needs posix_spawn. The fds in opts.dup must
 * stay open until `done`. `fallback` is called instead of `done` when the
 * kernel turns out not to have what the routine needs.
 */
export function startAsync(path: string, argv: string[], env: NodeJS.ProcessEnv, opts: SpawnOptions,
  done: (err: unknown, pid: number) => void, fallback: () => void): boolean {
  const s = get();
  const g = s?.free.pop();
  if (!s || !g) return false;
  let ok = false;
  try {
    ok = write(s, g, path, argv, env, opts);
  } finally {
    if (!ok) s.free.push(g);
  }
  if (!ok) return false;
  s.fn.async(g.addr, (err, r) => {
    s.free.push(g);
    if (err) { done(err, 0); return; }
    const a = answer(Number(r));
    if (a === null) fallback();
    else if (a instanceof Error) done(a, 0);
    else done(null, a);
  });
  return true;
}
