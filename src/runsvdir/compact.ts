// A full garbage collection once a burst of work (a scan, starting many
// services) is over. Both runsvdir processes live as long as the system and
// sit idle nearly all that time; V8's own memory reducer would get there
// too, only later.
import v8 from 'node:v8';
import vm from 'node:vm';

let gc: (() => void) | null = null;
let timer: NodeJS.Timeout | null = null;

/** Collect once nothing has called this for `quietMs`. */
export function compactSoon(quietMs = 1000): void {
  if (timer) clearTimeout(timer);
  timer = setTimeout(() => {
    timer = null;
    try {
      if (!gc) {
        v8.setFlagsFromString('--expose-gc');
        gc = vm.runInNewContext('gc') as () => void;
      }
      gc();
    } catch { /* the memory reducer will do it */ }
  }, quietMs);
  timer.unref();
}
