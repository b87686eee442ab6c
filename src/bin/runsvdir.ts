// runsvdir [-P] [-M address:port] dir [log] — supervise every service in dir (man runsvdir).
// This process only watches dir; the services are supervised by one host
// process (src/runsvdir/host.ts) that outlives it on TERM, as runsv
// processes outlive runit's runsvdir.
import fs from 'node:fs';
import path from 'node:path';
import { why } from '../sys/errors.js';
import { dropKoffiZeroPages } from '../memory/zeropages.js';
import { defaultSignal, execve } from '../sys/libc.js';
import { parseArgs } from '../runsvdir/args.js';
import { compactSoon } from '../runsvdir/compact.js';
import { HostLink, NODE_FLAGS, startedHost } from '../runsvdir/link.js';
import { TitleLog } from '../runsvdir/proctitle.js';
import { keyOf, scan, type Services } from '../runsvdir/scan.js';
import { calledAs, scriptPath } from '../sys/argv0.js';
import { setTitle } from '../sys/title.js';

// runsvdir runs with the flags the host runs with (link.ts NODE_FLAGS), some
// of which V8 reads at start-up only: its first lines (scripts/build.mjs) are
// a shell script that runs node with them. Started as plain `node
// bin/runsvdir`, it starts Node again in its own place (same pid, same fds)
// with them. The script is named as it was called, for the usage line and the
// process title.
if (!process.execArgv.includes('--no-memory-reducer')) {
  try {
    execve(process.execPath, [process.argv0, ...NODE_FLAGS, scriptPath(), ...process.argv.slice(2)], process.env);
  } catch { /* runs on as it is */ }
}

const args = process.argv.slice(2);
const parsed = parseArgs(args);
if (parsed === 'usage') {
  // runit's words exactly, naming itself as called (-M is ours: runsvdir(8) documents it)
  try { fs.writeSync(2, `usage: ${calledAs()} [-P] dir\n\n`); } catch { /* no stderr */ }
  process.exit(1);
}
if ('badAddress' in parsed) {
  try { fs.writeSync(2, `runsvdir: fatal: not an address:port to serve metrics on: ${parsed.badAddress}\n`); } catch { /* no stderr */ }
  process.exit(1);
}
const { newSession, metrics, dir, at } = parsed;
// runit's runsvdir shows its own argv (the log in its last word): ours shows the same, as one string
const shown = (): string[] => [calledAs(), ...args.slice(0, at + 2)];

let titleLog: TitleLog | null = null;
const warn = (text: string, err?: unknown): void => {
  const line = `runsvdir ${dir}: warning: ${text}${err === undefined ? '' : ': ' + why(err)}\n`;
  if (titleLog) { titleLog.write(Buffer.from(line)); return; }
  try { fs.writeSync(2, line); } catch { /* no stderr */ }
};
if (parsed.shortLog) {
  warn('log must have at least seven characters.');
  warn('log service disabled.');
}
// without a log, the title is set once the host is started (calledAs looks runsvdir up in PATH)
if (parsed.log !== undefined) titleLog = new TitleLog(shown(), 'runsvdir');

const services: Services = new Map();
const home = path.resolve(dir);
const link = new HostLink({
  // libexec/ beside bin/ in the package, wherever it is installed and however runsvdir is reached
  program: path.join(path.dirname(fs.realpathSync(process.argv[1]!)), '../libexec/runsvdir-host'),
  newSession,
  metrics,
  dir: home,
  shownDir: dir,
  services,
  stderr: titleLog ? (b) => titleLog!.write(b) : null,
  warn,
  early: startedHost(),
});

process.on('SIGTERM', () => process.exit(0));
// SIGUSR1 kills runit's runsvdir; Node's own handler would open a debugger port.
defaultSignal(10);
process.on('SIGHUP', () => {
  link.hup();
  process.exit(111);
});

// Watching dir: its mtime, inode and device at least every five seconds
// (every second while it cannot be read), and at once on inotify's word.
// The five-second check runs no JavaScript while nothing changes: libuv
// stats dir on its own thread and calls back only when the stat differs
// (mtime, inode and device among the rest); a Node process woken for a
// timer costs several times more.
let last = '';
let timer: NodeJS.Timeout | null = null;
let watcher: fs.FSWatcher | null = null;
let watched = '';

function check(force: boolean): void {
  if (timer) clearTimeout(timer);
  timer = null;
  let st: fs.Stats;
  try {
    st = fs.statSync(home, { bigint: false });
  } catch (e) {
    warn(`unable to stat ${dir}`, e);
    return later(1000);
  }
  if (!st.isDirectory()) {
    warn(`unable to change directory to ${dir}`, Object.assign(new Error(), { code: 'ENOTDIR' }));
    return later(1000);
  }
  const id = keyOf(st);
  if (id !== watched) watch(id);
  const stamp = `${id}:${st.mtimeMs}`;
  if (force || stamp !== last) {
    const now = scan(home, services, warn);
    if (!now) return later(watcher ? 5000 : 1000);
    last = stamp;
    update(now);
    compactSoon();
  }
}

function later(ms: number): void {
  if (!timer) timer = setTimeout(() => check(false), ms);
}

function watch(id: string): void {
  watcher?.close();
  watcher = null;
  watched = id;
  try {
    const w = fs.watch(home, { persistent: false });
    let soon: NodeJS.Timeout | null = null;
    w.on('change', () => {
      soon ??= setTimeout(() => { soon = null; check(true); }, 20);
    });
    w.on('error', () => {
      w.close();
      if (watcher === w) { watcher = null; watched = ''; }
    });
    watcher = w;
  } catch { /* the periodic check does it alone */ }
}

function update(now: Services): void {
  for (const key of [...services.keys()]) {
    if (!now.has(key)) {
      services.delete(key);
      link.del(key);
    }
  }
  const added: [string, string][] = [];
  for (const [key, name] of now) {
    if (services.has(key)) continue;
    services.set(key, name);
    added.push([key, name]);
  }
  if (added.length > 0) link.add(added);
}

// The first scan first: it starts the host, whose start-up is most of the
// wait for the first service. What is not needed for it comes after (some
// 5 ms of runsvdir's): the five-second check, which looks again at once for a
// change it may have missed since; the title; the zero pages (memory only).
check(true);
link.scanned();
// One thread is enough for it (libuv starts its pool at this first use and
// reads the variable then); the host and the services do not inherit it.
const poolSize = process.env.UV_THREADPOOL_SIZE;
process.env.UV_THREADPOOL_SIZE = '1';
fs.watchFile(home, { interval: 5000, persistent: true }, () => check(false));
if (poolSize === undefined) delete process.env.UV_THREADPOOL_SIZE;
else process.env.UV_THREADPOOL_SIZE = poolSize;
if (last !== '') check(false); // (a first check that failed looks again soon anyway, and warns then)
if (!titleLog) setTitle(shown(), 'runsvdir');
dropKoffiZeroPages();
