// A full garbage collection once a burst of work (a scan, starting many
// services) is over. Both runsvdir processes live as long as the system and
// sit idle nearly all that time; V8's own memory reducer would get there
// too, only later. Then the pages of Node's code that start-up touched and
// idle supervision does not need go back to the kernel (trimNow).
import { pageOutFiles } from '../memory/pageout.js';

// node:v8 and node:vm are loaded when first used: node:v8 loads node:stream,
// ~4 ms of each runsvdir process's start-up otherwise.
const v8 = (): typeof import('node:v8') => process.getBuiltinModule('node:v8');

// Every full collection also compacts the old generation (by default V8
// leaves partly used pages as they are): at most one every few seconds here.
// Both runsvdir processes are given the flag on their command line (link.ts
// NODE_FLAGS); whatever runs without it sets it here.
const COMPACT_FLAG = '--compact-on-every-full-gc';
if (!process.execArgv.includes(COMPACT_FLAG)) v8().setFlagsFromString(COMPACT_FLAG);

/**
 * V8 gives the young generation's pages back only at a collection that sees
 * a low allocation rate over its last five seconds: the burst must be out of
 * that window first. It then halves at each collection (2 MB, 1 MB, 256 KB).
 */
const SETTLE_AFTER_MS = 5500;
const SETTLE_STEP_MS = 1000;
const SETTLE_STEPS = 3;

/** At most one burst's collections this often (a service restarting every few seconds). */
const MIN_GAP_MS = 30000;

let timer: NodeJS.Timeout | null = null;
let round = 0;
let lastRound = -Infinity;

/**
 * Once the last collection is over, the pages of Node's code go back to the
 * kernel (memory/pageout.ts), this long later: by then the process is
 * asleep, and nothing of it runs to map them again.
 */
const PAGE_OUT_DELAY_MS = 250;

/**
 * A full collection, then `done(ok)`. V8's gc() where Node was started with
 * --expose-gc (the host is); else V8's eager memory measurement, which is a
 * full collection too (runsvdir is started by its #! line, and a new
 * context only to reach gc() would cost ~2 MB for good).
 */
function collect(done: (ok: boolean) => void): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (typeof gc === 'function') {
    try { gc(); } catch { return done(false); }
    return done(true);
  }
  // vm.measureMemory warns that it is experimental: a daemon's stderr is for its own messages.
  const warn = process.emitWarning;
  process.emitWarning = () => {};
  let measured: Promise<unknown>;
  try {
    measured = process.getBuiltinModule('node:vm').measureMemory({ mode: 'summary', execution: 'eager' });
  } catch {
    return done(false);
  } finally {
    process.emitWarning = warn;
  }
  measured.then(() => done(true), () => done(false));
}

function trimNow(): void {
  try {
    pageOutFiles(PAGE_OUT_DELAY_MS);
  } catch { /* memory only */ }
}

function young(): number {
  return v8().getHeapSpaceStatistics().find((s) => s.space_name === 'new_space')?.physical_space_size ?? 0;
}

/** `fn` in `ms`, unless compactSoon is called again meanwhile. */
function later(ms: number, fn: () => void): void {
  const mine = round;
  timer = setTimeout(() => {
    timer = null;
    if (mine === round) fn();
  }, ms);
  timer.unref();
}

/** Collect again while the young generation still shrinks, then give pages back. */
function settle(steps: number): void {
  const before = young();
  const mine = round;
  collect((ok) => {
    if (!ok || mine !== round) return;
    if (steps > 1 && young() < before) later(SETTLE_STEP_MS, () => settle(steps - 1));
    else trimNow();
  });
}

/** When the burst's first collection is due (compactSoon moves it on), and when its timer fires. */
let dueAt = 0;
let burst: NodeJS.Timeout | null = null;
let burstAt = 0;

/**
 * Collect once nothing has called this for `quietMs` (and the last burst's
 * collections are MIN_GAP_MS past), and settle once the burst is past.
 * Called at every status written: it moves the deadline on, and the timer is
 * set again only when it fires before its time (a call costs no timer).
 */
export function compactSoon(quietMs = 1000): void {
  round++;
  if (timer) { clearTimeout(timer); timer = null; } // a settle step waits: the burst's round does it again
  const now = Date.now();
  dueAt = Math.max(now + quietMs, lastRound + MIN_GAP_MS);
  if (!burst || dueAt < burstAt) arm(now);
}

function arm(now: number): void {
  if (burst) clearTimeout(burst);
  burstAt = dueAt;
  burst = setTimeout(due, dueAt - now);
  burst.unref();
}

function due(): void {
  burst = null;
  const now = Date.now();
  if (now < dueAt) { arm(now); return; }
  const mine = round;
  lastRound = now;
  collect((ok) => {
    if (!ok || mine !== round) return; // the next burst's round will do it
    trimNow();
    later(SETTLE_AFTER_MS, () => settle(SETTLE_STEPS));
  });
}
