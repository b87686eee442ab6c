// The supervision host: the runsv engine for every service runsvdir finds,
// in one process (SPEC §4). From outside each service looks supervised by its
// own runsv: same supervise/ files, locks, FIFOs and messages (`runsv NAME: ...`).
//
// runsvdir starts it and talks to it on fd 3 (protocol.ts). It keeps going
// when runsvdir is gone, as runsv processes outlive a runsvdir told to TERM,
// and exits once it supervises nothing.
import { AsyncLocalStorage } from 'node:async_hooks';
import fs from 'node:fs';
import { Step } from '../supervise/files.js';
import { Service } from '../supervise/service.js';
import { why } from '../sys/errors.js';
import { dropKoffiZeroPages } from '../memory/zeropages.js';
import { defaultSignal, dup2, dupCloexec, raiseNofile, setCloexec, setNonblock, setsid } from '../sys/libc.js';
import { whenReadable } from '../sys/readable.js';
import { setTitle } from '../sys/title.js';
import { pending as unwaitedPending } from '../sys/unwaited.js';
import * as boost from './boost.js';
import { parseArgs } from './args.js';
import { compactSoon } from './compact.js';
import { tableFd } from './fdtable.js';
import { adoptStandin, takeOver } from './logger.js';
import { sameLookups } from './logrun.js';
import { Lines, type Message } from './protocol.js';

interface Entry {
  key: string;
  name: string;
  path: string;
  svc: Service | null;
  /** The directory, held open: the service keeps it whatever happens to its name (runsv chdirs into it). */
  fd: number;
  /** runsvdir still lists it. */
  wanted: boolean;
  lastStart: number;
  timer: NodeJS.Timeout | null;
}

const CHANNEL = 3;
const entries = new Map<string, Entry>();
const current = new AsyncLocalStorage<Entry>();
let newSession = false;
/** The services' environment: the host's, copied once (it never changes it). */
let env: NodeJS.ProcessEnv = {};
let connected = true;
let told = false;
const pinning = fs.existsSync('/proc/self/fd');

function say(line: string): void {
  try { fs.writeSync(2, line + '\n'); } catch { /* stderr gone (runsvdir's log with it) */ }
}

function report(e: Entry, kind: string, text: string, err?: unknown): void {
  // Paths inside the service read as runsv's relative ones.
  const shown = e.fd >= 0 ? text.split(`/proc/self/fd/${e.fd}/`).join('') : text;
  say(`runsv ${e.name}: ${kind}: ${shown}${err === undefined ? '' : ': ' + why(err)}`);
}

function closeDir(e: Entry): void {
  if (e.fd >= 0) {
    closeWhenFree(e.fd);
    e.fd = -1;
  }
}

/**
 * A child started without waiting for its exec (sys/unwaited.ts) may yet
 * chdir through /proc/self/fd/N: the number is not given to another
 * directory until none can.
 */
function closeWhenFree(fd: number): void {
  if (unwaitedPending()) {
    setTimeout(() => closeWhenFree(fd), 50).unref();
    return;
  }
  try { fs.closeSync(fd); } catch { /* closed */ }
}

function start(e: Entry): void {
  e.timer = null;
  e.lastStart = Date.now();
  let dir = e.path;
  if (pinning) {
    try {
      e.fd = fs.openSync(e.path, fs.constants.O_RDONLY | fs.constants.O_DIRECTORY);
      dir = `/proc/self/fd/${e.fd}`;
    } catch (err) {
      report(e, 'fatal', 'unable to change to directory', err);
      again(e);
      return;
    }
  }
  const svc: Service = new Service(dir, {
    label: `runsv ${e.name}`,
    dirOpen: e.fd >= 0,
    newSession,
    env,
    report: (kind, text, err) => report(e, kind, text, err),
    onExit: () => ended(e, svc),
    onSave: () => compactSoon(),
    takeLog: (dir, pipeFd, onExit, started) => takeOver(dir, pipeFd, newSession, env, onExit, started),
    adoptLog: adoptStandin,
  });
  e.svc = svc;
  try {
    current.run(e, () => svc.start());
  } catch (err) {
    if (err instanceof Step) report(e, 'fatal', err.what, err.cause);
    else report(e, 'fatal', 'unable to start', err);
    svc.abandon();
    e.svc = null;
    closeDir(e);
    again(e);
  }
}

/** Start it again, as runsvdir restarts a runsv that died, at most once a second. */
function again(e: Entry): void {
  if (!e.wanted || !connected) {
    forget(e);
    return;
  }
  const wait = Math.max(0, e.lastStart + 1000 - Date.now());
  e.timer = setTimeout(() => start(e), wait);
}

function ended(e: Entry, svc: Service): void {
  if (e.svc !== svc) return;
  e.svc = null;
  closeDir(e);
  again(e);
}

function forget(e: Entry): void {
  if (e.timer) clearTimeout(e.timer);
  e.timer = null;
  entries.delete(e.key);
  if (entries.size === 0 && (told || !connected)) process.exit(0);
}

function fault(err: unknown): void {
  const e = current.getStore();
  if (!e) {
    say(`runsvdir: warning: ${why(err)}`);
    return;
  }
  report(e, 'fatal', 'internal error', err);
  if (e.svc) {
    e.svc.abandon();
    e.svc = null;
    closeDir(e);
    if (!e.timer) again(e);
  }
}

function handle(m: Message): void {
  told = true;
  compactSoon();
  if ('add' in m) {
    const e = entries.get(m.add);
    if (e) {
      e.wanted = true;
      if (!e.svc && !e.timer) start(e);
      return;
    }
    const fresh: Entry = {
      key: m.add, name: m.name, path: m.path, svc: null, fd: -1, wanted: true, lastStart: -Infinity, timer: null,
    };
    entries.set(fresh.key, fresh);
    start(fresh);
  } else if ('del' in m) {
    drop(m.del);
  } else if ('hup' in m) {
    for (const key of [...entries.keys()]) drop(key);
  }
}

/**
 * Messages not yet handled. A scan of a thousand services comes in one read:
 * handled a few at a time, with a turn of the event loop between, the ./run
 * of the first ones are started (spawns finish on worker threads, and their
 * status is written) while the rest are being set up.
 */
const inbox: Message[] = [];
let inboxHead = 0;
let working = false;
/** The channel has ended (runsvdir is gone). */
let hungUp = false;
const PER_TURN = 8;
/**
 * Started by the launcher, with the table it made (2048 fds, start.s, or
 * fewer under a low fd limit): made large enough for the first list at once,
 * if it needs more (fdtable.ts), one wait rather than one at each doubling.
 */
let growTable = false;

function sizeTable(services: number): void {
  growTable = false;
  // the size the kernel says it has
  let have: number | undefined;
  try { have = Number(/^FDSize:\s*(\d+)/m.exec(fs.readFileSync('/proc/self/status', 'latin1'))?.[1]) || undefined; } catch { /* no /proc */ }
  const last = tableFd(services, have);
  if (last === null) return;
  try {
    dupCloexec(CHANNEL, last);
    fs.closeSync(last);
  } catch { /* it grows as it is used */ }
}

function work(): void {
  if (working) return;
  working = true;
  setImmediate(() => {
    working = false;
    if (growTable) sizeTable(inbox.length - inboxHead);
    sameLookups(true); // for the loggers of the list being taken in
    try {
      for (let n = 0; n < PER_TURN && inboxHead < inbox.length; n++) handle(inbox[inboxHead++]!);
    } finally {
      if (inboxHead < inbox.length) work(); // the rest next turn, even after a fault
      else sameLookups(false);
    }
    if (inboxHead < inbox.length) return;
    inbox.length = 0;
    inboxHead = 0;
    // the first list taken in: each of its services has been started (or waits on control/u)
    boost.listed();
    if (hungUp && connected) disconnected();
  });
}

/** runsvdir no longer lists it: runsv gets TERM (exit once down) and is not restarted. */
function drop(key: string): void {
  const e = entries.get(key);
  if (!e) return;
  e.wanted = false;
  if (e.svc) current.run(e, () => e.svc!.exit());
  else forget(e);
}

/** runsvdir is gone: what is supervised stays so; what is waiting to start again is let go. */
function disconnected(): void {
  connected = false;
  for (const e of [...entries.values()]) if (!e.svc) forget(e);
  if (entries.size === 0) process.exit(0);
}

/**
 * runsvdir-host [-P] [-M address:port] [-T fd] -- DIR (DIR only names it in
 * `ps`; -T: an fd runsvdir set only to size this process's fd table, link.ts).
 */
export function host(args: string[]): void {
  let metrics: string | undefined;
  let dir: string | undefined;
  if (args.length > 0 && !args[0]!.startsWith('-')) {
    // Started by runsvdir's launcher beside runsvdir (start.s): runsvdir's
    // script and words. fd 2 is a pipe to runsvdir, fd 4 the stderr both had.
    const a = parseArgs(args.slice(1));
    if (typeof a !== 'object' || 'badAddress' in a) process.exit(0); // runsvdir says why, and exits
    if (a.log === undefined) {
      // (none when runsvdir was started without one: /dev/null, as Node gives a process then)
      try { dup2(4, 2); } catch {
        try { const n = fs.openSync('/dev/null', 'w'); dup2(n, 2); fs.closeSync(n); } catch { /* left as it is */ }
      }
    }
    try { fs.closeSync(4); } catch { /* none */ }
    newSession = a.newSession;
    if (newSession) {
      try { setsid(); } catch { /* a session leader already */ }
    }
    metrics = a.metrics;
    dir = a.dir;
    growTable = true;
  } else {
    const tableAt = args.indexOf('-T');
    const table = tableAt >= 0 ? Number(args[tableAt + 1]) : NaN;
    if (Number.isInteger(table) && table > CHANNEL) {
      try { fs.closeSync(table); } catch { /* not there: a table of the usual size */ }
    }
    newSession = args.includes('-P');
    const metricsAt = args.indexOf('-M');
    if (metricsAt >= 0) metrics = args[metricsAt + 1];
    const dd = args.indexOf('--');
    dir = dd >= 0 ? args[dd + 1] : undefined;
  }
  env = { ...process.env };
  if (metrics) {
    // loaded only with -M (node:http with it)
    const at = metrics;
    void import('./metrics.js').then((m) => m.serve(at,
      () => [...entries.values()].map((e) => ({ name: e.name, dir: e.path })),
      (text, err) => say(`runsvdir: warning: ${text}${err === undefined ? '' : ': ' + why(err)}`)));
  }
  // It does the work of every service's runsv: it is named runsv, so that
  // `pidof runsv` and `pgrep -x runsv` find it, and `pkill -x runsv` (TERM)
  // stops what runit's runsv processes would stop.
  setTitle(['runsv', ...(dir === undefined ? [] : [`${dir.replace(/\/+$/, '')}/*`])], 'runsv');
  defaultSignal(10); // SIGUSR1 kills it as it kills a runsv; Node would open a debugger
  try { raiseNofile(); } catch { /* keep the limit we have (Node raises it itself at start) */ }
  // memory only, some 3 ms: after the first burst (boost.ts, 2 s at most), not before its first service
  setTimeout(dropKoffiZeroPages, 2500).unref();
  process.on('uncaughtException', fault);
  process.on('unhandledRejection', fault);
  // TERM to the host is TERM to every runsv in it.
  process.on('SIGTERM', () => { for (const key of [...entries.keys()]) drop(key); });
  // runsvdir gives it a pipe on fd 3; run by hand there is none, or some other file
  let channelFd: fs.Stats | null = null;
  try { channelFd = fs.fstatSync(CHANNEL); } catch { /* no fd 3 */ }
  if (!channelFd?.isFIFO()) {
    say('runsvdir-host: fatal: not a program to run by hand: runsvdir starts it');
    process.exit(111);
  }
  setCloexec(CHANNEL, true); // services must not inherit it
  boost.begin();
  readChannel();
}

/**
 * The channel, read as it comes: non-blocking reads, and epoll's word
 * (sys/readable.ts, which waits on the control FIFOs too) when it is empty.
 * Its end, or an error, is runsvdir gone; what was read before is handled
 * first. (A net.Socket would load node:net and node:stream, some 9 ms of the
 * host's start before its first service.)
 */
function readChannel(): void {
  const lines = new Lines();
  const buf = Buffer.allocUnsafe(1 << 16);
  // runsvdir closed its copy of this end: the flag is the host's alone
  setNonblock(CHANNEL, true);
  const more = (): void => {
    for (;;) {
      let n: number;
      try {
        n = fs.readSync(CHANNEL, buf, 0, buf.length, null);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'EAGAIN' || code === 'EINTR') { whenReadable(CHANNEL, more); return; }
        n = 0;
      }
      if (n === 0) { hungUp = true; work(); return; }
      inbox.push(...lines.push(buf.subarray(0, n)));
      work();
    }
  };
  more();
}
