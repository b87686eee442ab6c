// The optional s6 files of a service directory (s6's servicedir documentation):
// one small file, one value; a file absent (or unreadable) means runit's
// behaviour. Read at each start of ./run, so an edit counts from the next start.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface Config {
  /** `down-signal`: sent instead of TERM by d, x and t (and the sv stops built on them). */
  downSignal: NodeJS.Signals;
  /** `timeout-kill`: ms after the down signal at which a still-running ./run gets KILL; 0: never. */
  timeoutKill: number;
  /** `flag-timeout-killpg`: ./run leads its own process group, and that KILL goes to the whole group. */
  killpg: boolean;
  /** `timeout-finish`: ms after which a still-running ./finish gets KILL; 0: no limit (runit's). */
  timeoutFinish: number;
  /** `notification-fd`: ./run gets the write end of a pipe at this fd; a newline there means ready. */
  notificationFd: number | null;
  /** `notify-socket` (an empty file): $NOTIFY_SOCKET for ./run, READY=1 there means ready (notifysocket.ts). */
  notifySocket: boolean;
  /** `backoff`: the longest wait in ms before restarting a ./run that keeps dying early; 0: runit's second. */
  backoff: number;
}

function text(dir: string, name: string): string | null {
  try {
    return fs.readFileSync(path.join(dir, name), 'latin1').trim();
  } catch {
    return null;
  }
}

/** A non-negative decimal integer, as s6 reads its numeric files; anything else is absent. */
function integer(dir: string, name: string): number | null {
  const t = text(dir, name);
  if (t === null || !/^\d+$/.test(t)) return null;
  const n = Number(t);
  return Number.isSafeInteger(n) ? n : null;
}

/** `HUP`, `SIGHUP`, `sighup` or a number (1); null if not a signal. */
export function signalNamed(t: string): NodeJS.Signals | null {
  const sigs = os.constants.signals as Record<string, number>;
  if (/^\d+$/.test(t)) {
    const n = Number(t);
    for (const [name, num] of Object.entries(sigs)) if (num === n) return name as NodeJS.Signals;
    return null;
  }
  const up = t.toUpperCase();
  const name = up.startsWith('SIG') ? up : `SIG${up}`;
  return name in sigs ? (name as NodeJS.Signals) : null;
}

const NAMES = ['down-signal', 'timeout-kill', 'flag-timeout-killpg', 'timeout-finish', 'notification-fd', 'notify-socket', 'backoff'];

/** What a directory with none of the files gets: runit's behaviour. */
export const DEFAULTS: Readonly<Config> = Object.freeze({
  downSignal: 'SIGTERM', timeoutKill: 0, killpg: false, timeoutFinish: 0, notificationFd: null, notifySocket: false, backoff: 0,
});

/** The names in a service directory (readdir), or null when it cannot be read. */
export function list(dir: string): string[] | null {
  try {
    return fs.readdirSync(dir);
  } catch {
    return null;
  }
}

/** The files of `dir`; `names` is its listing when the caller has just taken one (list). */
export function read(dir: string, names: string[] | null = list(dir)): Config {
  // One look at the directory, then only the files that are there: most
  // services have none, and each failed open costs an exception in Node.
  const present = names === null ? NAMES : NAMES.filter((n) => names.includes(n)); // unreadable: each is tried
  if (present.length === 0) return { ...DEFAULTS };
  const has = (n: string): boolean => present.includes(n);
  const ds = has('down-signal') ? text(dir, 'down-signal') : null;
  const fd = has('notification-fd') ? integer(dir, 'notification-fd') : null;
  return {
    downSignal: (ds && signalNamed(ds)) || 'SIGTERM',
    timeoutKill: (has('timeout-kill') ? integer(dir, 'timeout-kill') : null) ?? 0,
    killpg: has('flag-timeout-killpg') && fs.existsSync(path.join(dir, 'flag-timeout-killpg')),
    timeoutFinish: (has('timeout-finish') ? integer(dir, 'timeout-finish') : null) ?? 0,
    // 0, 1 and 2 are ./run's standard descriptors: s6 refuses them too
    notificationFd: fd !== null && fd > 2 && fd < 1024 ? fd : null,
    notifySocket: has('notify-socket') && fs.existsSync(path.join(dir, 'notify-socket')),
    backoff: (has('backoff') ? integer(dir, 'backoff') : null) ?? 0,
  };
}
