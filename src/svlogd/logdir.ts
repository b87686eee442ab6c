// One log directory (man svlogd, LOG DIRECTORY, LOG FILE ROTATION, PROCESSOR).
//
// Lines are appended to an in-memory queue together with the points where
// `current` must be rotated (decided from sizes, as runit decides them per
// line), then drained with a few large writes. When a write fails (disk full)
// or a rotation must wait for a running processor, the queue keeps everything
// not yet written and the directory reports itself blocked; svlogd then stops
// reading its input until the queue drains, as runit blocks.
import fs from 'node:fs';
import path from 'node:path';
import { errCode } from '../sys/errors.js';
import { flock, LOCK_EX, LOCK_NB } from '../sys/libc.js';
import { now, tai64n } from './clock.js';
import { type Config, defaults, parse } from './config.js';
import { sleepSync } from '../sys/sleep.js';
import { info, pausing, warn } from './say.js';
import { STAMP_LEN } from './stamp.js';

const { O_WRONLY, O_APPEND, O_CREAT, O_NONBLOCK, O_RDONLY, O_DIRECTORY, O_TRUNC } = fs.constants;
const PAUSE_MS = 3000; // runit's pause before trying again
const QUEUE_MAX = 1 << 25; // bytes queued while an fsync runs before input waits
// The queue's first size: under half of Buffer.poolSize, so that it is a
// slice of Node's pool, not an allocation of its own (a host starts a logger
// for each service at once); it doubles as lines come faster.
const QUEUE_MIN = 1 << 11;
const EMPTY = Buffer.alloc(0);

export interface Env {
  /** What the directories' names are relative to ('' for the working directory). */
  at: string;
  linemax: number;
  verbose: boolean;
  /** Called when a blocked directory may go on (retry time, processor exit). */
  wake: () => void;
  /** Send one datagram; `done` gets the error, if any. */
  udp: (msg: Buffer, port: number, host: string, done: (err: Error | null) => void) => void;
  /** Start a processor. */
  spawn: SpawnProcessor;
  /**
   * A setup step that fails (renaming an unfinished current, opening current)
   * is tried again every 3 s, blocking, as runit's svlogd does; when false
   * (the runsvdir host, which must never block) open throws GiveUp instead.
   */
  blockingRetry: boolean;
  /**
   * Run a step that touches the directory's files (opening, creating,
   * writing, renaming, removing them, starting a processor) as the user the
   * logger runs as: every such step goes through it, and none goes to the
   * thread pool but an fsync, which no permission governs. The svlogd program
   * (already that user) runs them as they are.
   */
  as: <T>(step: () => T) => T;
}

/** A setup step failed and was not tried again (Env.blockingRetry false). */
export class GiveUp extends Error {
  constructor(readonly what: string, readonly dir: string, readonly cause: unknown) {
    super(`${what}: ${dir}`);
  }
}

/**
 * Run `sh -c processor` in `cwd` with fds [stdin, stdout, state, newstate]
 * as its 0, 1, 4 and 5 (2 is svlogd's, 3 /dev/null); `onExit` gets its exit
 * code (111 when it could not run or was killed). Returns a handle whose
 * `forget` stops watching it. Throws when it cannot be started.
 */
export type SpawnProcessor = (cmd: string, cwd: string, fds: number[], onExit: (code: number) => void) => unknown;

/** A running processor: survives a HUP (the new LogDir for the same name adopts it). */
interface Proc { child: unknown; save: string; owner: LogDir }

const haveProcFd = fs.existsSync('/proc/self/fd');

/** `file` does not exist (a stat that fails otherwise leaves it to the open that follows to say why). */
function absent(file: string): boolean {
  try {
    return fs.statSync(file, { throwIfNoEntry: false }) === undefined;
  } catch {
    return false;
  }
}

export class LogDir {
  cfg: Config = defaults();
  /** Selected for the rest of a line longer than the input buffer. */
  cont = false;
  private fddir = -1;
  private fdlock = -1;
  private fdcur = -1;
  private base = '';
  private size = 0; // bytes in current on disk
  private vsize = 0; // bytes current will hold once the queue up to now is written
  private rotLimit = Infinity;
  /** The queue: allocated on the first line (a host brings up a thousand loggers that have logged nothing yet). */
  private buf = EMPTY;
  private len = 0;
  private off = 0;
  private marks: number[] = [];
  private retry: NodeJS.Timeout | null = null;
  private ttimer: NodeJS.Timeout | null = null;
  private pendingU = ''; // rotated to .u, processor not yet started
  proc: Proc | null = null;
  private syncing = 0; // fsync of current before rotation: 0 not yet, 1 running, 2 done

  private constructor(readonly name: string, private env: Env) {}

  private p(f: string): string { return this.base + '/' + f; }

  /**
   * Open, lock and configure `name`; null (after a warning) when it cannot be
   * used. Throws GiveUp where svlogd would pause, if env.blockingRetry is false.
   */
  static open(name: string, env: Env, adopt?: Proc | null): LogDir | null {
    return env.as(() => LogDir.openAs(name, env, adopt));
  }

  private static openAs(name: string, env: Env, adopt?: Proc | null): LogDir | null {
    const d = new LogDir(name, env);
    try {
      d.fddir = fs.openSync(path.resolve(env.at, name), O_RDONLY | O_DIRECTORY);
    } catch (e) {
      warn(['unable to open log directory: ', name], e);
      return null;
    }
    // Through the directory's descriptor, like runit's fchdir: the directory
    // may be renamed while we log into it.
    d.base = haveProcFd ? `/proc/self/fd/${d.fddir}` : path.resolve(env.at, name);
    try {
      d.fdlock = fs.openSync(d.p('lock'), O_WRONLY | O_APPEND | O_CREAT | O_NONBLOCK, 0o600);
      flock(d.fdlock, LOCK_EX | LOCK_NB);
    } catch (e) {
      d.closeFds();
      warn(['unable to lock directory: ', name], e);
      return null;
    }
    if (adopt) {
      d.proc = adopt;
      adopt.owner = d;
    }
    d.readConfig();

    let fresh = true;
    try {
      // none yet (undefined): a new one is created, without the exception a failed stat costs
      const st = fs.statSync(d.p('current'), { throwIfNoEntry: false });
      if (st && st.size > 0 && (st.mode & 0o100) === 0) {
        // Left behind by an svlogd that did not finish it: keep it as unprocessed.
        const save = d.uniqueName('.u');
        d.retrySync('unable to rename current', () => fs.renameSync(d.p('current'), d.p(save)));
        d.rmoldest();
      } else if (st) {
        d.size = st.size;
        fresh = false;
      }
    } catch (e) {
      if (errCode(e) !== 'ENOENT') {
        d.closeFds();
        warn(['unable to stat current: ', name], e);
        return null;
      }
    }
    d.retrySync('unable to open current', () => d.openCurrent());
    d.vsize = d.size;
    if (env.verbose) info(`${fresh ? 'new' : 'append'}: ${name}/current`);
    d.armTimer();
    return d;
  }

  private readConfig(): void {
    const c = this.cfg;
    let text: Buffer | null = null;
    try {
      // Most directories have none: a stat says so without the exception a failed open costs.
      if (!absent(this.p('config'))) text = fs.readFileSync(this.p('config'));
    } catch (e) {
      if (errCode(e) !== 'ENOENT') warn(['unable to read config: ', this.name], e);
    }
    if (text) {
      if (this.env.verbose) info(`read: ${this.name}/config`);
      this.cfg = parse(text, (a) => warn(['unable to scan ip address: ', a]));
    } else this.cfg = c;
    const { sizemax } = this.cfg;
    this.rotLimit = sizemax >= this.env.linemax ? sizemax - this.env.linemax : Infinity;
  }

  /** runit pauses and tries again forever when setup steps fail (a host gives up instead). */
  private retrySync(what: string, f: () => void): void {
    for (;;) {
      try {
        f();
        return;
      } catch (e) {
        if (!this.env.blockingRetry) {
          this.closeFds();
          throw new GiveUp(what, this.name, e);
        }
        pausing(what, this.name, e);
        sleepSync(PAUSE_MS);
      }
    }
  }

  private openCurrent(): void {
    const fd = fs.openSync(this.p('current'), O_WRONLY | O_APPEND | O_CREAT | O_NONBLOCK, 0o600);
    try {
      fs.fchmodSync(fd, 0o644);
    } catch (e) {
      fs.closeSync(fd);
      throw e;
    }
    this.fdcur = fd;
  }

  private uniqueName(suffix: string): string {
    for (;;) {
      const n = tai64n(now()) + suffix;
      if (!fs.existsSync(this.p(n))) return n;
    }
  }

  private armTimer(): void {
    if (this.ttimer) clearTimeout(this.ttimer);
    this.ttimer = null;
    if (this.cfg.tmax === 0) return;
    this.ttimer = setTimeout(() => {
      this.ttimer = null;
      this.forceRotate();
      this.armTimer();
      this.env.wake();
    }, this.cfg.tmax * 1000);
  }

  // ---- queueing (the hot path) ----

  private ensure(n: number): void {
    if (this.len + n <= this.buf.length) return;
    if (this.off === this.len && this.marks.length === 0) {
      this.off = this.len = 0;
      if (n <= this.buf.length) return;
    }
    let size = Math.max(this.buf.length * 2, QUEUE_MIN);
    while (size < this.len + n) size *= 2;
    const nb = Buffer.allocUnsafe(size);
    this.buf.copy(nb, 0, 0, this.len);
    this.buf = nb;
  }

  /** Queue a rotation at the end of what is queued so far. */
  private mark(): void {
    this.marks.push(this.len);
    this.vsize = 0;
  }

  /**
   * Queue [stamp][prefix]a[as,ae)b[bs,be). `eol`: this ends a line (the data
   * ends with its newline), where runit checks whether to rotate.
   */
  put(stamp: Buffer | null, prefix: boolean, a: Buffer, as: number, ae: number,
    b: Buffer | null, bs: number, be: number, eol: boolean): void {
    const pre = prefix ? this.cfg.prefix : null;
    const total = (stamp ? STAMP_LEN : 0) + (pre ? pre.length : 0) + (ae - as) + (be - bs);
    const smax = this.cfg.sizemax;
    if (smax !== 0 && this.vsize + total > smax) {
      const line = Buffer.allocUnsafe(total);
      let p = 0;
      if (stamp) p += stamp.copy(line, p);
      if (pre) p += pre.copy(line, p);
      p += a.copy(line, p, as, ae);
      if (b) b.copy(line, p, bs, be);
      this.putSplit(line);
    } else {
      this.ensure(total);
      const o = this.buf;
      let p = this.len;
      if (stamp) {
        for (let i = 0; i < STAMP_LEN; i++) o[p + i] = stamp[i]!;
        p += STAMP_LEN;
      }
      if (pre && pre.length) p += pre.copy(o, p);
      p += a.copy(o, p, as, ae);
      if (b && be > bs) p += b.copy(o, p, bs, be);
      this.len = p;
      this.vsize += total;
    }
    if (eol && this.vsize >= this.rotLimit) this.mark();
  }

  /** `current` never grows past s bytes: a line that would cross it is split there. */
  private putSplit(line: Buffer): void {
    const smax = this.cfg.sizemax;
    let at = 0;
    while (at < line.length) {
      if (this.vsize >= smax) this.mark();
      const n = Math.min(smax - this.vsize, line.length - at);
      this.ensure(n);
      this.len += line.copy(this.buf, this.len, at, at + n);
      this.vsize += n;
      at += n;
    }
  }

  /** A message line of svlogd's own, written into the log (e.g. udp errors). */
  note(text: string): void {
    const b = Buffer.from(text + '\n', 'latin1');
    this.put(null, false, b, 0, b.length, null, 0, 0, true);
  }

  /** ALRM, or t seconds passed: rotate if current is not empty. */
  forceRotate(): void {
    if (this.vsize > 0) this.mark();
  }

  get queued(): number { return this.len - this.off; }

  /** Blocked only until an fsync finishes: input may go on into the queue. */
  get waitingSync(): boolean { return this.syncing === 1 && this.retry === null && this.len - this.off < QUEUE_MAX; }

  // ---- draining ----

  /** Write what is queued, rotating where marked. False when blocked. */
  drain(): boolean {
    if (this.retry) return false;
    if (this.off === this.len && this.marks.length === 0 && this.fdcur >= 0) {
      this.off = this.len = 0;
      return true; // nothing to do: no step to take as the user
    }
    return this.env.as(() => this.drainAs());
  }

  private drainAs(): boolean {
    for (;;) {
      const end = this.marks.length ? this.marks[0]! : this.len;
      while (this.off < end) {
        if (this.fdcur < 0) {
          if (!this.rotate()) return false;
          continue;
        }
        let n: number;
        try {
          n = fs.writeSync(this.fdcur, this.buf, this.off, end - this.off);
        } catch (e) {
          if (this.writeFailed(e)) continue;
          return false;
        }
        this.off += n;
        this.size += n;
      }
      if (this.marks.length === 0) break;
      if (!this.rotate()) return false;
      this.marks.shift();
    }
    if (this.fdcur < 0 && !this.rotate()) return false;
    this.off = this.len = 0;
    return true;
  }

  private pause(what: string, e: unknown): false {
    pausing(what, this.name, e);
    this.retry = setTimeout(() => {
      this.retry = null;
      this.env.wake();
    }, PAUSE_MS);
    return false;
  }

  /** True to try the write again at once (an old log file was deleted). */
  private writeFailed(e: unknown): boolean {
    if (errCode(e) === 'ENOSPC' && this.cfg.nmin < this.cfg.nmax) {
      const { n, oldest } = this.scan(false);
      if (n > this.cfg.nmin && oldest) {
        warn([`out of disk space, delete: ${this.name}/${oldest}`]);
        try {
          fs.unlinkSync(this.p(oldest));
          return true;
        } catch (e2) {
          warn(['unable to unlink oldest logfile: ', this.name], e2);
        }
      }
    }
    this.pause('unable to write to current', e);
    return false;
  }

  /** Rotate current (resumable: a failed step is tried again later). False when blocked. */
  private rotate(): boolean {
    if (this.fdcur >= 0 && this.size === 0) return true;
    // man svlogd: a new processor waits until the previous one has finished.
    if (this.proc) return false;
    if (this.fdcur >= 0 && this.size > 0) {
      // fsync before the rename, as runit does, but in the thread pool: lines
      // read meanwhile wait in the queue instead of stopping the input.
      if (this.syncing === 0) {
        this.syncing = 1;
        fs.fsync(this.fdcur, () => {
          this.syncing = 2;
          this.env.wake();
        });
      }
      if (this.syncing === 1) return false;
      this.syncing = 0;
      const save = this.uniqueName(this.cfg.processor ? '.u' : '.s');
      try {
        fs.fchmodSync(this.fdcur, 0o744);
      } catch (e) {
        return this.pause('unable to set mode of current', e);
      }
      try {
        fs.renameSync(this.p('current'), this.p(save));
      } catch (e) {
        return this.pause('unable to rename current', e);
      }
      if (this.env.verbose) info(`rename: ${this.name}/current ${save} ${this.size}`);
      fs.closeSync(this.fdcur);
      this.fdcur = -1;
      this.size = 0;
      if (this.cfg.processor) this.pendingU = save;
    }
    if (this.fdcur < 0) {
      try {
        this.openCurrent();
      } catch (e) {
        return this.pause('unable to create new current', e);
      }
      this.size = 0;
      this.rmoldest();
      if (this.pendingU) {
        const u = this.pendingU;
        this.pendingU = '';
        this.startProcessor(u.slice(0, -2));
      }
    }
    return true;
  }

  /** Old log files: how many, and the oldest that may be deleted. */
  private scan(dropLeftovers: boolean): { n: number; oldest: string } {
    let names: string[];
    try {
      names = fs.readdirSync(this.base);
    } catch (e) {
      warn(['unable to read directory: ', this.name], e);
      return { n: 0, oldest: '' };
    }
    // 2.3.0: the .u a processor reads (or is about to read) is never pruned.
    const busy = this.proc ? this.proc.save : this.pendingU.slice(0, 25);
    let n = 0;
    let oldest = '';
    for (const f of names) {
      if (f.length !== 27 || f[0] !== '@') continue;
      const stem = f.slice(0, 25);
      if (f[26] === 't') {
        if (stem === busy) continue;
        if (dropLeftovers) {
          try { fs.unlinkSync(this.p(f)); } catch (e) { warn(['unable to unlink processor leftover: ', f], e); }
          continue;
        }
      }
      n++;
      // 2.3.0: never the file a processor is reading.
      if (stem === busy) continue;
      if (oldest === '' || f < oldest) oldest = f;
    }
    return { n, oldest };
  }

  private rmoldest(): void {
    const { n, oldest } = this.scan(true);
    if (this.cfg.nmax && n > this.cfg.nmax && oldest) {
      if (this.env.verbose) info(`delete: ${this.name}/${oldest}`);
      try { fs.unlinkSync(this.p(oldest)); } catch (e) { warn(['unable to unlink oldest logfile: ', this.name], e); }
    }
  }

  // ---- processor ----

  /** Feed `save`.u through `sh -c processor` into `save`.t, state on fd 4, newstate on fd 5. */
  private startProcessor(save: string): void {
    if (this.env.verbose) info(`processing: ${this.name}/${save}.u`);
    const fds: number[] = [];
    try {
      fds.push(fs.openSync(this.p(save + '.u'), O_RDONLY));
      fds.push(fs.openSync(this.p(save + '.t'), O_WRONLY | O_CREAT | O_TRUNC, 0o644));
      let st: number;
      try {
        st = fs.openSync(this.p('state'), O_RDONLY);
      } catch (e) {
        if (errCode(e) !== 'ENOENT') throw e;
        fs.closeSync(fs.openSync(this.p('state'), O_WRONLY | O_CREAT | O_TRUNC, 0o644));
        st = fs.openSync(this.p('state'), O_RDONLY);
      }
      fds.push(st);
      fds.push(fs.openSync(this.p('newstate'), O_WRONLY | O_CREAT | O_TRUNC, 0o644));
      const cwd = haveProcFd ? fs.readlinkSync(this.base) : this.base;
      const proc: Proc = { child: null, save, owner: this };
      let done = false;
      proc.child = this.env.spawn(this.cfg.processor, cwd, fds, (code) => {
        if (done) return;
        done = true;
        const d = proc.owner;
        if (d.env.as(() => d.processorExit(proc, code))) d.env.wake();
      });
      this.proc = proc;
    } catch (e) {
      warn(['unable to start processor: ', this.name], e);
      this.pendingU = save + '.u';
      this.retry = setTimeout(() => {
        this.retry = null;
        const u = this.pendingU;
        this.pendingU = '';
        if (u) this.env.as(() => this.startProcessor(u.slice(0, -2)));
        this.env.wake();
      }, PAUSE_MS);
    } finally {
      for (const fd of fds) fs.closeSync(fd);
    }
  }

  /** A processor ended: its files renamed or removed. True if the logger may go on (wake it). */
  private processorExit(proc: Proc, code: number): boolean {
    if (this.proc !== proc) return false;
    this.proc = null;
    const { save } = proc;
    if (this.fddir < 0) return false; // directory gone after a HUP: nothing to finish
    if (code !== 0) {
      warn([`processor failed, restart: ${this.name}`]);
      try { fs.unlinkSync(this.p(save + '.t')); } catch { /* already gone */ }
      // runit restarts at once; a second's pause keeps a broken processor from
      // spinning. Meanwhile the directory still counts as processing.
      proc.child = null;
      this.proc = proc;
      setTimeout(() => {
        const d = proc.owner;
        if (d.proc !== proc) return;
        d.proc = null;
        if (d.fddir >= 0) d.env.as(() => d.startProcessor(save));
        d.env.wake();
      }, 1000);
      return false;
    }
    try {
      fs.renameSync(this.p(save + '.t'), this.p(save + '.s'));
      fs.chmodSync(this.p(save + '.s'), 0o744);
    } catch (e) {
      warn(['unable to rename processed: ', this.name], e);
    }
    try { fs.unlinkSync(this.p(save + '.u')); } catch { warn([`unable to unlink: ${this.name}/${save}.u`]); }
    try { fs.renameSync(this.p('newstate'), this.p('state')); } catch (e) { warn(['unable to rename state: ', this.name], e); }
    if (this.env.verbose) info(`processed: ${this.name}/${save}.s`);
    return true;
  }

  // ---- closing ----

  /** Close (after a drain): current gets mode 0744 (as both runit releases set it, whatever man svlogd says), the lock is released. */
  close(): void {
    this.env.as(() => this.closeAs());
  }

  private closeAs(): void {
    if (this.env.verbose) info(`close: ${this.name}`);
    if (this.retry) clearTimeout(this.retry);
    if (this.ttimer) clearTimeout(this.ttimer);
    this.retry = this.ttimer = null;
    if (this.fdcur >= 0) {
      try { fs.fsyncSync(this.fdcur); } catch { /* nothing more to do */ }
      try { fs.fchmodSync(this.fdcur, 0o744); } catch (e) { warn(['unable to set mode of current: ', this.name], e); }
    }
    this.closeFds();
  }

  private closeFds(): void {
    for (const fd of [this.fdcur, this.fdlock, this.fddir]) if (fd >= 0) fs.closeSync(fd);
    this.fdcur = this.fdlock = this.fddir = -1;
  }
}
