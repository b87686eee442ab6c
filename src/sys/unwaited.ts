// Children started without waiting for their exec (x86-64 Linux), as runit's
// runsv does with fork: the caller has the pid at once and the child execs
// on its own. clonespawn.ts waits (CLONE_VFORK) until the child has exec'd,
// so that its request's memory can be used again; on a machine busy with the
// start-up of the services started just before, a child at normal priority
// reaches its exec only after they have had their turn, and a host bringing
// up a tree waits that long for each (docs/BENCHMARKS.md, ninth run).
//
// Here each child keeps a request's memory of its own until the kernel
// clears the request's word (CLONE_CHILD_CLEARTID: at the child's exec, or
// its exit). The memory comes in chunks as children overlap and is given
// back once every word is clear (trim). A request with an fd to put on a
// slot (an fd at or above clonespawn's `keep`: a logged service's stdout, a
// logger's stdin) borrows slots of clonespawn's spare ones, held until its
// word is clear too; when none is free, it takes the waiting start. An exec
// that fails leaves its errno in the
// request, read before the memory is used again or when the child is reaped
// (failedExec): the caller learns of it then, as runsv learns that its child
// could not exec from the child's exit.
import fs from 'node:fs';
import { answer, cannotUnshare, get, group, NO_UNSHARE, REGION, write, type Group, type Spawner } from './clonespawn.js';
import { dupCloexec, madvise, mmap, peek, poke, sysError, type SpawnOptions } from './libc.js';

const CHUNK = 32;
const MAX_CHUNKS = 32;
const NOWAIT = 120;
const WORD = 124;
const ERR = 48;

interface Request extends Group { pid: number }

const chunks: number[] = [];
const requests: Request[] = [];
let next = 0;
/** A child told that this kernel cannot unshare its fd table: none started here again. */
let broken = false;
/** The request of each child started here and not yet known to have exec'd or failed. */
const byPid = new Map<number, Request>();
/** Children whose exec failed, read from a request about to be used again. */
const failed = new Map<number, Error>();
const look = Buffer.alloc(WORD + 4);
/** Children started here so far. */
let count = 0;
/** The spawner whose spare slots requests borrow (set with the first chunk). */
let lender: Spawner | null = null;

function grow(s: Spawner): boolean {
  if (chunks.length === MAX_CHUNKS) return false;
  lender = s;
  const base = mmap(CHUNK * REGION, 3 /* PROT_READ|PROT_WRITE */, 0x22 /* MAP_PRIVATE|MAP_ANONYMOUS */, -1, 0);
  chunks.push(base);
  for (let i = 0; i < CHUNK; i++) {
    const r: Request = { ...group(s, base + i * REGION, []), pid: 0 };
    r.template.writeUInt32LE(1, NOWAIT);
    r.template.writeInt32LE(1, WORD);
    requests.push(r);
  }
  return true;
}

/** r's word and errno. */
function read(r: Request): { word: number; err: number } {
  peek(look, r.addr, look.length);
  return { word: look.readInt32LE(WORD), err: look.readInt32LE(ERR) };
}

/** devnull on r's slots again, and them back with the spare ones (one that cannot be is closed: never lent again). */
function giveBack(r: Request): void {
  const slots = r.slots;
  r.slots = [];
  for (const slot of slots) {
    try {
      dupCloexec(lender!.devnull, slot);
      lender!.spare.push(slot);
    } catch {
      try { fs.closeSync(slot); } catch { /* closed */ }
    }
  }
}

/** n spare slots for r, taking back those of children that have exec'd if need be; false if there are not so many. */
function borrow(s: Spawner, r: Request, n: number): boolean {
  if (s.spare.length < n) {
    for (const q of byPid.values()) {
      if (q.slots.length === 0) continue;
      const { word, err } = read(q);
      if (word === 0) settle(q, err);
    }
  }
  if (s.spare.length < n) return false;
  r.slots = s.spare.splice(s.spare.length - n, n);
  return true;
}

/** r's child has let its memory go: note a failed exec, forget the child, give its slots back. */
function settle(r: Request, err: number): void {
  giveBack(r);
  if (r.pid && byPid.get(r.pid) === r) {
    // (an old kernel, or a seccomp filter: not the exec's failure; the
    // child's end, exit 127, brings ./run back in a second, started otherwise)
    if (err & NO_UNSHARE) { broken = true; cannotUnshare(); }
    else if (err !== 0) failed.set(r.pid, sysError('spawn', err));
    byPid.delete(r.pid);
  }
  r.pid = 0;
}

function take(s: Spawner): Request | null {
  for (let tries = 0; tries < requests.length; tries++) {
    const r = requests[next]!;
    next = (next + 1) % requests.length;
    if (r.pid === 0) return r;
    const { word, err } = read(r);
    if (word === 0) {
      settle(r, err);
      return r;
    }
  }
  if (!grow(s)) return null;
  next = requests.length - CHUNK + 1;
  return requests[requests.length - CHUNK]!;
}

/**
 * Start path without waiting for its exec: the pid, or false when this
 * machine or request needs clonespawn.ts or posix_spawn. Throws what the
 * clone failed with; an exec that fails is for failedExec() once the child
 * has been reaped.
 */
export function startNow(path: string, argv: string[], env: NodeJS.ProcessEnv, opts: SpawnOptions): number | false {
  const s = get();
  if (!s || broken) return false;
  const r = take(s);
  if (!r) return false;
  const moves = (opts.dup ?? []).filter(([from]) => from >= 3).length;
  if (moves > 0 && !borrow(s, r, moves)) return false;
  if (!write(s, r, path, argv, env, opts)) {
    giveBack(r);
    return false;
  }
  const a = answer(s.fn(r.addr));
  if (a === null || a instanceof Error) {
    poke(r.addr + WORD, Buffer.alloc(4)); // no child has it
    giveBack(r);
    if (a === null) return false;
    throw a;
  }
  r.pid = a;
  byPid.set(a, r);
  count++;
  return a;
}

/** How many children have been started here (for tests: which start a child took). */
export function started(): number {
  return count;
}

/**
 * What the exec of a child startNow started failed with, asked once it has
 * been reaped (every reaped child: then nothing is kept for its pid);
 * undefined if it did exec.
 */
export function failedExec(pid: number): Error | undefined {
  const r = byPid.get(pid);
  if (r) settle(r, read(r).err); // reaped: its word is clear
  const e = failed.get(pid);
  failed.delete(pid);
  return e;
}

/** Is a child started here still to exec (or exit)? It may yet chdir through a /proc/self/fd/N of this process's. */
export function pending(): boolean {
  for (const r of byPid.values()) {
    const { word, err } = read(r);
    if (word !== 0) return true;
    settle(r, err);
  }
  return false;
}

/**
 * Give the requests' memory back when no child holds any (true), else
 * false: to be asked again later.
 */
export function trim(): boolean {
  if (pending()) return false;
  for (const base of chunks) madvise(BigInt(base), BigInt(CHUNK * REGION), 4 /* MADV_DONTNEED */);
  for (const r of requests) r.env = null;
  return true;
}
