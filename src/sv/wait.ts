// sv -v: wait for the effect of the command on each service, then call done.
// runit's sv naps 420 ms between looks. Ours looks every 10 ms; and a service
// whose readiness its runsv records has supervise/ watched (inotify), where
// runsv renames status and ready into place: sv answers at the notification
// itself, and looks only every 420 ms (runit's nap) for what no file there
// tells (runsv gone), unless a ./check must be run or runsv's exit is awaited.
import fs from 'node:fs';
import * as readiness from '../supervise/readiness.js';
import type { Sv } from './client.js';

const LOOK = 10;
const NAP = 420;

interface Pending { name: string; dir: string; watched: boolean }

export function waitFor(sv: Sv, services: { name: string; dir: string }[], acts: string,
  waitSec: number, kill: boolean, done: () => never): void {
  // runit looks at least once more after its first 420 ms nap, even with -w 0
  const deadline = Date.now() + Math.max(waitSec * 1000, NAP);
  const pending: Pending[] = services.map((s) => ({ ...s, watched: false }));
  const watchers: fs.FSWatcher[] = [];
  const finish = (): never => {
    // Closed before exit, so that the kernel's cleanup of a watch (fsnotify
    // waits for an SRCU grace period, several ms here) runs during Node's own
    // exit; left to the process's end, it comes after it, all of it before the
    // parent sees sv exit (docs/BENCHMARKS.md).
    for (const w of watchers) w.close();
    return done();
  };
  let timer: NodeJS.Timeout | null = null;
  let soon = false;
  const wake = (): void => {
    if (soon) return;
    soon = true;
    setImmediate(() => { soon = false; round(); });
  };
  for (const p of pending) {
    if (!readiness.awaited(p.dir)) continue;
    try {
      // status and ready are renamed into place last; what comes before (X.new, pid, stat) is not news
      const w = fs.watch(`${p.dir}/supervise`, { persistent: false }, (_, file) => {
        if (file === 'status' || file === readiness.FILE || file === null) wake();
      });
      w.on('error', () => { p.watched = false; wake(); });
      watchers.push(w);
      p.watched = true;
    } catch { /* looked at instead */ }
  }
  const round = (): void => {
    if (timer) clearTimeout(timer);
    for (let i = 0; i < pending.length; i++) {
      const p = pending[i]!;
      const r = sv.reached(p.name, p.dir, acts);
      if (r === true) { pending.splice(i--, 1); continue; }
      if (r === 'gone') { sv.fail(p.name, 'runsv not running'); pending.splice(i--, 1); }
    }
    if (!pending.length) finish();
    const now = Date.now();
    if (now >= deadline) {
      for (const p of pending) sv.timedOut(p.name, p.dir, kill);
      finish();
    }
    const nap = acts !== 'x' && pending.every((p) => p.watched && !sv.hasCheck(p.dir)) ? NAP : LOOK;
    timer = setTimeout(round, Math.min(nap, deadline - now));
  };
  round();
}
