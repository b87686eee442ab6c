// runsvdir's side of the supervision host: start it when there is something
// to supervise, tell it what changes, and start it again if it dies (as
// runsvdir restarts a dead runsv), telling it everything anew.
// The host is started with posix_spawn (not clonespawn.ts: one child, a
// small fd table) and reaped by sys/children.ts, and
// told things with plain writes on a pipe: node:child_process and node:net
// would cost runsvdir ~0.9 MB for good (net is loaded only for a log).
import fs from 'node:fs';
import type { Readable } from 'node:stream';
import { adopt, startPosix } from '../sys/children.js';
import { O_CLOEXEC, pipe, setCloexec, setNonblock, setPipeSize } from '../sys/libc.js';
import { sleepSync } from '../sys/sleep.js';
import { tableFd } from './fdtable.js';
import { encode, type Message } from './protocol.js';
import type { Services } from './scan.js';

/** How both runsvdir processes run Node. */
export const NODE_FLAGS = [
  // A smaller young generation: they allocate little and often.
  '--max-semi-space-size=1',
  // No collections on a timer once idle (V8's memory reducer, which collects
  // again 8 s after a collection): compact.ts collects after each burst of
  // work. Only a flag given at start-up turns it off.
  '--no-memory-reducer',
  // gc() for compact.ts without the cost of a second context.
  '--expose-gc',
  // Collections and compilation on the main thread, one helper thread: V8's
  // helpers each keep an allocation arena (~0.6 MB in all) for a heap of a few MB.
  '--single-threaded',
  '--v8-pool-size=1',
  // What compact.ts would set with node:v8 (which costs each ~4 ms of its start).
  '--compact-on-every-full-gc',
];

/** The host's end of the channel (host.ts CHANNEL). */
const CHANNEL = 3;
/** Room for a whole scan of 1000 services in one write. */
const CHANNEL_BYTES = 1 << 20;
/** The launcher's host (start.s): runsvdir's end of the channel, and of the host's stderr. */
const EARLY_CHANNEL = 3;
const EARLY_STDERR = 4;
/** How soon to try again when the host has not read what was sent. */
const RETRY_MS = 50;
/** How long HUP waits for a host that does not read (then runsvdir exits anyway). */
const HUP_WAIT_MS = 3000;
/**
 * The host runsvdir's launcher (start.s) started beside it, or null. The
 * launcher execs runsvdir with the host's program for its argv[0]; the host
 * is then runsvdir's one child, the other end of its fd 3. If it cannot be
 * found, the ends are closed: it ends at its channel's end.
 */
export function startedHost(): number | null {
  if (!process.argv0.endsWith('/runsvdir-host')) return null;
  let pid = 0;
  try {
    const kids = fs.readFileSync(`/proc/self/task/${process.pid}/children`, 'utf8').trim().split(' ');
    pid = Number(kids[0]);
    const mine = fs.fstatSync(EARLY_CHANNEL);
    const theirs = fs.statSync(`/proc/${pid}/fd/${EARLY_CHANNEL}`);
    if (kids.length === 1 && pid > 0 && mine.isFIFO() && mine.ino === theirs.ino && mine.dev === theirs.dev) {
      // not for the hosts started later, nor their services
      setCloexec(EARLY_CHANNEL, true);
      setCloexec(EARLY_STDERR, true);
      return pid;
    }
  } catch { /* not found */ }
  letGo(pid);
  return null;
}

/**
 * The launcher's host not taken (or one whose exec failed): its ends closed,
 * it ends at its channel's end, and is reaped then.
 */
function letGo(pid: number): void {
  closeQuietly(EARLY_CHANNEL);
  closeQuietly(EARLY_STDERR);
  if (pid > 0) adopt(pid, () => { /* reaped */ });
}

export interface LinkOptions {
  /** The host program (libexec/runsvdir-host). */
  program: string;
  newSession: boolean;
  /** runsvdir -M ADDRESS:PORT: the host serves metrics there. */
  metrics?: string;
  /** Where the services live (paths sent to the host are DIR/name). */
  dir: string;
  /** dir as runsvdir was given it: the host's process title names it. */
  shownDir: string;
  /** What runsvdir supervises now. */
  services: Services;
  /** The host's standard error, when runsvdir keeps a log; else it shares runsvdir's. */
  stderr: ((bytes: Buffer) => void) | null;
  warn(text: string, err?: unknown): void;
  /** The host the launcher started (startedHost), taken for the first. */
  early?: number | null;
}

interface Host {
  pid: number;
  /** runsvdir's end of the channel (non-blocking). */
  channel: number;
  stderr: Readable | null;
}

export class HostLink {
  private host: Host | null = null;
  private lastSpawn = -Infinity;
  private timer: NodeJS.Timeout | null = null;
  private retry: NodeJS.Timeout | null = null;
  /** Encoded messages not yet in the pipe. */
  private queued: Buffer[] = [];
  private flushing = false;
  private early: number | null;

  constructor(private readonly o: LinkOptions) {
    this.early = o.early ?? null;
  }

  /** The host's pid, while there is one. */
  get pid(): number | undefined {
    return this.host?.pid;
  }

  /**
   * Services just put in o.services. A host not running yet is started for
   * them, and told every service then (sized for them all: tableFd).
   */
  add(added: Iterable<[key: string, name: string]>): void {
    if (!this.host) {
      this.ensure();
      return;
    }
    for (const [key, name] of added) this.send({ add: key, name, path: `${this.o.dir}/${name}` });
  }

  /** A service just taken out of o.services (a host started later is not told of it). */
  del(key: string): void {
    if (this.host) this.send({ del: key });
  }

  /**
   * Every service gets the exit command. runsvdir exits right after, so what
   * is queued goes now: a host slow to read is waited for, up to HUP_WAIT_MS.
   */
  hup(): void {
    if (!this.host) return;
    this.send({ hup: true });
    for (const end = Date.now() + HUP_WAIT_MS; ;) {
      this.flush();
      if (!this.host || this.queued.length === 0 || Date.now() > end) return;
      sleepSync(10);
    }
  }

  /** Messages go out together at the end of the tick: one write for a whole scan. */
  private send(m: Message): void {
    if (!this.host) {
      this.ensure();
      return;
    }
    if (!this.flushing) {
      this.flushing = true;
      queueMicrotask(() => this.flush());
    }
    this.queued.push(Buffer.from(encode(m)));
  }

  /** As much as the pipe takes now; the rest a little later. */
  private flush(): void {
    this.flushing = false;
    const host = this.host;
    if (!host || this.queued.length === 0) return;
    const bytes = Buffer.concat(this.queued);
    let n = 0;
    try {
      n = fs.writeSync(host.channel, bytes);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EAGAIN') {
        this.queued = []; // EPIPE: the host died; its exit follows, then all is sent anew
        return;
      }
    }
    // A line split between writes is joined by the host (protocol.ts Lines).
    this.queued = n < bytes.length ? [bytes.subarray(n)] : [];
    if (this.queued.length && !this.retry) this.retry = setTimeout(() => { this.retry = null; this.flush(); }, RETRY_MS);
  }

  /** Start a host unless one runs or is about to; it is then told every service. */
  ensure(): void {
    if (this.host || this.timer || this.o.services.size === 0) return;
    const wait = this.lastSpawn + 1000 - Date.now();
    if (wait > 0) {
      this.timer = setTimeout(() => { this.timer = null; this.ensure(); }, wait);
      return;
    }
    this.lastSpawn = Date.now();
    if (this.early !== null) {
      this.adoptEarly(this.early);
      return;
    }
    const table = tableFd(this.o.services.size);
    const args = [
      ...NODE_FLAGS,
      this.o.program,
      ...(this.o.newSession ? ['-P'] : []),
      ...(table === null ? [] : ['-T', String(table)]),
      ...(this.o.metrics ? ['-M', this.o.metrics] : []),
      '--', this.o.shownDir,
    ];
    // Both pipes close-on-exec: the host gets its ends as fds 3 and 2 only.
    // (fd 3 is never one of them here: libuv's epoll took it at start-up.)
    let channel: [number, number] | null = null;
    let stderr: [number, number] | null = null;
    let pid: number;
    try {
      channel = pipe(O_CLOEXEC);
      try { setPipeSize(channel[1], CHANNEL_BYTES); } catch { /* the default 64 KB, written in turns */ }
      // runsvdir's standard fds, as Node leaves them close-on-exec (a dup2 onto itself clears that).
      const dup: [number, number][] = [[0, 0], [1, 1], [2, 2], [channel[0], CHANNEL]];
      if (table !== null) dup.push([channel[0], table]);
      if (this.o.stderr) {
        stderr = pipe(O_CLOEXEC);
        dup[2] = [stderr[1], 2];
      }
      pid = startPosix(process.execPath, [process.execPath, ...args], {
        cwd: process.cwd(),
        dup,
        // -P: the supervisors in a new session too, as runsvdir -P puts each runsv.
        newSession: this.o.newSession,
      }, () => this.exited(pid));
    } catch (e) {
      for (const fd of [...(channel ?? []), ...(stderr ?? [])]) closeQuietly(fd);
      this.o.warn('unable to start runsv', e);
      this.ensure();
      return;
    }
    closeQuietly(channel[0]);
    // Never blocked by a host that does not read: its end is runsvdir's alone.
    try { setNonblock(channel[1], true); } catch { /* blocking, then */ }
    const host: Host = { pid, channel: channel[1], stderr: null };
    this.host = host;
    if (stderr) {
      closeQuietly(stderr[1]);
      this.readStderr(host, stderr[0]);
    }
    this.tellAll();
  }

  /** A host just started (or taken) is told every service. */
  private tellAll(): void {
    this.queued = [];
    for (const [key, name] of this.o.services) this.send({ add: key, name, path: `${this.o.dir}/${name}` });
  }

  /** The launcher's host for the first: it is told every service, as one just started. */
  private adoptEarly(pid: number): void {
    this.early = null;
    const host: Host = { pid, channel: EARLY_CHANNEL, stderr: null };
    this.host = host;
    adopt(pid, () => this.exited(pid));
    try { setPipeSize(EARLY_CHANNEL, CHANNEL_BYTES); } catch { /* the default 64 KB, written in turns */ }
    try { setNonblock(EARLY_CHANNEL, true); } catch { /* blocking, then */ }
    // without runsvdir's log the host has taken the stderr both had back
    if (this.o.stderr) this.readStderr(host, EARLY_STDERR);
    else closeQuietly(EARLY_STDERR);
    this.tellAll();
  }

  /**
   * After the first scan: the launcher's host, if nothing was found for it,
   * is let go (it exits at its channel's end, and is reaped here); a host
   * is started when there is something to supervise, as before.
   */
  scanned(): void {
    const pid = this.early;
    if (pid === null || this.host) return;
    this.early = null;
    this.lastSpawn = Date.now(); // the next a second later, as after any host (its -M port is let go)
    letGo(pid);
  }

  /** The host's standard error into runsvdir's log, as it comes. */
  private readStderr(host: Host, fd: number): void {
    const sink = this.o.stderr!;
    void import('node:net').then(({ Socket }) => {
      if (this.host !== host) { closeQuietly(fd); return; }
      const stream = new Socket({ fd, readable: true, writable: false });
      stream.on('data', (b: Buffer) => sink(b));
      stream.on('error', () => { /* gone with the host */ });
      host.stderr = stream;
    });
  }

  private exited(pid: number): void {
    const host = this.host;
    if (!host || host.pid !== pid) return;
    this.host = null;
    closeQuietly(host.channel);
    host.stderr?.destroy();
    this.queued = [];
    if (this.retry) { clearTimeout(this.retry); this.retry = null; }
    this.ensure();
  }
}

function closeQuietly(fd: number): void {
  try { fs.closeSync(fd); } catch { /* already gone */ }
}
