// A full garbage collection once a burst of work (a scan, starting many
// services) is over. Both runsvdir processes live as long as the system and
// sit idle nearly all that time; V8's own memory reducer would get there
// too, only later. Then the pages of Node's code that start-up touched and
// idle supervision does not need go back to the kernel (afterCompact).
import v8 from 'node:v8';
import vm from 'node:vm';

let gc: (() => void) | null = null;
let timer: NodeJS.Timeout | null = null;
let trim: (() => void) | null = null;

/** What to do after each collection: give back start-up's pages (libc.pageOutFiles). */
export function afterCompact(fn: () => void): void {
  trim = fn;
}

/**
 * V8's gc(): the global one when Node was started with --expose-gc (the host
 * is); else from a new context, which costs that context (~0.8 MB) for good.
 */
function exposed(): () => void {
  const own = (globalThis as { gc?: () => void }).gc;
  if (typeof own === 'function') return own;
  v8.setFlagsFromString('--expose-gc');
  return vm.runInNewContext('gc') as () => void;
}

/** Collect once nothing has called this for `quietMs`. */
export function compactSoon(quietMs = 1000): void {
  if (timer) clearTimeout(timer);
  timer = setTimeout(() => {
    timer = null;
    try {
      if (!gc) gc = exposed();
      gc();
    } catch { /* the memory reducer will do it */ }
    try { trim?.(); } catch { /* memory only */ }
  }, quietMs);
  timer.unref();
}
