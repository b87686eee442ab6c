// The host's first burst at real-time priority: bringing up a tree, it
// starts each service without waiting for its exec (sys/unwaited.ts) and
// runs ahead of the services it has started, so that every one is
// supervised, and says run, before their own start-up has taken the CPUs.
// (runit's runsv processes mark a service running right after their fork;
// a host at the services' priority shares the CPUs with a thousand of them
// starting, docs/BENCHMARKS.md, ninth run.)
//
// Only the host's main thread is raised, to SCHED_FIFO 1, with
// SCHED_RESET_ON_FORK: every child (and any thread) starts at SCHED_OTHER,
// with the nice value the host has. It is done only where the host runs at
// SCHED_OTHER with a nice value of 0 or more (a negative one would not reach
// the children with that flag) and may (root: CAP_SYS_NICE), and undone once
// the first list of services has been taken in and every child it started
// has exec'd (the host then writes no more statuses for it, and waits), or
// after 2 s at most.
import * as children from '../sys/children.js';
import { niceValue, schedPolicy, setSchedPolicy, SCHED_FIFO, SCHED_OTHER, SCHED_RESET_ON_FORK } from '../sys/libc.js';

const AT_MOST_MS = 2000;
/** How often, once the first list is in, the host looks whether a child it started is still to exec. */
const LOOK_MS = 4;
let on = false;
let timer: NodeJS.Timeout | null = null;
let looking: NodeJS.Timeout | null = null;

/** Raise the host for its first burst, if it can (nothing happens otherwise). */
export function begin(): void {
  if (process.platform !== 'linux') return;
  try {
    if (schedPolicy() !== SCHED_OTHER || niceValue() < 0) return;
    setSchedPolicy(SCHED_FIFO | SCHED_RESET_ON_FORK, 1);
  } catch {
    return; // not allowed here: the burst at the services' priority
  }
  on = true;
  children.startUnwaited(true);
  timer = setTimeout(end, AT_MOST_MS);
}

/** The first list has been taken in: the burst ends once the host has caught up with it. */
export function listed(): void {
  if (!on || looking) return;
  looking = setInterval(() => { if (!children.starting()) end(); }, LOOK_MS);
}

/** Back to the services' priority, and to waiting for each exec. */
export function end(): void {
  if (!on) return;
  on = false;
  if (timer) clearTimeout(timer);
  if (looking) clearInterval(looking);
  timer = null;
  looking = null;
  try { setSchedPolicy(SCHED_OTHER, 0); } catch { /* from SCHED_FIFO, root may */ }
  children.startUnwaited(false);
}
