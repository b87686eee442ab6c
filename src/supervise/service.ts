// The runsv engine: one service directory, its ./run and ./finish, its optional
// log service, the pipe between them, and the control FIFOs (man runsv).
// `runsv DIR` runs one of these; a supervision host runs one per service.
import fs from 'node:fs';
import path from 'node:path';
import * as children from '../sys/children.js';
import { pipe, type SpawnOptions } from '../sys/libc.js';
import * as pidwatch from '../sys/pidwatch.js';
import * as tai from '../sys/tai64n.js';
import * as adopt from './adopt.js';
import * as backoff from './backoff.js';
import * as files from './files.js';
import * as notifier from './notifier.js';
import { listen as notifyListen, type NotifySocket } from './notifysocket.js';
import * as readiness from './readiness.js';
import * as record from './record.js';
import * as servicedir from './servicedir.js';
import * as status from './status.js';
import { Deadline } from './timeouts.js';
import { STATE, type State } from './status.js';

export interface ServiceOptions {
  /** How messages name this supervisor: `runsv DIR`. */
  label: string;
  /** Start every child in a new session (runsvdir -P). */
  newSession?: boolean;
  /**
   * The environment of ./run, ./finish and control/X (default process.env).
   * A host passes a copy made once: reading process.env costs a call into
   * Node per variable, every spawn.
   */
  env?: NodeJS.ProcessEnv;
  /** `dir` is a directory the caller holds open (the host's /proc/self/fd/N): not looked at again. */
  dirOpen?: boolean;
  /** Messages: `${label}: warning: ...` / `${label}: fatal: ...` (fatal does not exit here). */
  report(kind: 'warning' | 'fatal', text: string, err?: unknown): void;
  /** The supervisor is done (told to exit and everything is down). */
  onExit(): void;
  /** A status file was written (the runsvdir host tidies its memory once things are quiet). */
  onSave?(): void;
  /**
   * Run the log service itself instead of log/run (the runsvdir host's own
   * svlogd, src/runsvdir/logger.ts), or null (log/run runs). Its pid is the
   * TakenLog's, or, when that is 0, comes later to `started`: 0 there means
   * it could not be started after all (log/run runs), and `onExit` is then
   * never called; else `onExit` comes after `started`.
   */
  takeLog?(dir: string, pipeFd: number, onExit: children.OnExit, started: (pid: number) => void): TakenLog | null;
  /** An orphaned log service it may have run itself (a stand-in): run it again, or null. */
  adoptLog?(dir: string, pipeFd: number, pid: number): TakenLog | null;
}

/** A log service its supervisor runs itself: the pid that stands for it, and the signals it handles. */
export interface TakenLog {
  /** 0 while it is being started (ServiceOptions.takeLog's `started` is told). */
  pid: number;
  /** True when the signal was handled (not to be sent to pid). */
  signal(sig: NodeJS.Signals): boolean;
  /** (Adopted) pid is gone: `then` once the log service has finished. */
  ended?(then: () => void): void;
}

const signalOf: Record<string, NodeJS.Signals> = {
  p: 'SIGSTOP', c: 'SIGCONT', h: 'SIGHUP', a: 'SIGALRM', i: 'SIGINT', q: 'SIGQUIT',
  '1': 'SIGUSR1', '2': 'SIGUSR2', t: 'SIGTERM', k: 'SIGKILL',
};

/** The bytes runsv takes for commands (man runsv); any other is ignored. */
const COMMAND = new Uint8Array(128);
for (const c of 'udoxt' + Object.keys(signalOf).join('')) COMMAND[c.charCodeAt(0)] = 1;

/** What a program of the service gets besides runsv's fds and directory. */
interface SpawnMore { dup?: [number, number][]; group?: boolean; env?: NodeJS.ProcessEnv }

/** One supervised program: the service's ./run (and ./finish), or its log's. */
class Proc {
  state: State = STATE.down;
  pid = 0;
  /** The pid of ./run or ./finish while it runs (control scripts are not counted). */
  child = 0;
  /** ./run has ended (and is reaped) but what follows waits for a control script: signal nothing. */
  private gone = false;
  /** `child` was left by a supervisor that died: not ours, watched through a pidfd. */
  private adopted = false;
  want: 'u' | 'd' = 'u';
  wantExit = false;
  paused = false;
  term = false;
  when = tai.now();
  private lastStart = -Infinity;
  private startPending = false;
  private delay: NodeJS.Timeout | null = null;
  /** Commands read and not yet handled (from `head` on). */
  private queue: string[] = [];
  private head = 0;
  private busy = false;
  fifos: files.Fifos | null = null;
  lockFd = -1;
  /** The s6 files, as read at the last start of ./run. */
  private cfg: servicedir.Config = servicedir.DEFAULTS;
  /** What runit forgets (supervise/record). */
  rec: record.Record = record.empty();
  private notify: notifier.Notifier | null = null;
  private notifySock: NotifySocket | null = null;
  private ready = false;
  /** ./run leads its own process group (runsvdir -P, flag-timeout-killpg). */
  private ownGroup = false;
  private delayMs = backoff.FIRST;
  /** Runs in a row that died early (backoff.ts). */
  private failures = 0;
  private readonly killTimer = new Deadline();
  /**
   * Is there a pid to tell? runsv writes supervise/pid when a pid changes
   * (and the service's once at start), so a log service's pid file appears
   * only when the log is first started.
   */
  private pidKnown: boolean;

  constructor(
    readonly svc: Service,
    readonly dir: string, // where ./run lives
    readonly sup: string, // its supervise directory
    readonly name: string, // 'supervise' or 'log/supervise', for messages
    readonly isLog: boolean,
  ) {
    this.pidKnown = !isLog;
  }

  /**
   * The service directory's names, listed by Service.start in this turn:
   * they answer the first start of ./run's questions (s6 files, control/u)
   * when it comes in the same turn. Null: list it anew.
   */
  listing: string[] | null = null;
  /** supervise/ was made just now: nothing is in it yet (no status left by a dead supervisor, no ready). */
  fresh = false;

  setup(): void {
    this.fresh = files.makeDir(this.sup, this.name);
    this.lockFd = files.lock(this.sup, this.name);
    this.fifos = files.openFifos(this.sup, this.name, (b) => this.command(b));
    // a fresh record, written with the first status
    this.recordDue = true;
  }

  /**
   * `ok` opens with the first status written (and the log's, for the
   * service's ok). A service about to start has for its first status the one
   * that says it runs (or why not): a write of the three files fewer per
   * service when a whole tree comes up.
   */
  answerLater(): void {
    this.answerDue = true;
  }

  private answerDue = false;
  private recordDue = false;

  teardown(): void {
    if (this.delay) clearTimeout(this.delay);
    this.killTimer.cancel();
    this.dropNotify();
    if (this.fifos) files.closeFifos(this.fifos);
    this.fifos = null;
    if (this.lockFd >= 0) {
      try { fs.closeSync(this.lockFd); } catch { /* already closed */ }
    }
    this.lockFd = -1;
  }

  save(): void {
    const s: status.Status = {
      when: this.when, pid: this.pid, paused: this.paused, want: this.want, term: this.term, state: this.state,
    };
    // the record first: the status, then ok, with nothing between them
    if (this.recordDue) this.writeRecord();
    status.write(this.sup, s, this.wantExit, (what, e) => {
      const [verb, ...rest] = what.split(' ');
      this.svc.opts.report('warning', `unable to ${verb} ${this.name}/${rest.join(' ')}`, e);
    }, this.pidKnown, this.answerDue, files.openPath);
    this.saved = true;
    // the service's ok once its log's status is there too (sv status reads both);
    // at once: a client who has seen the status (run) finds the supervisor
    if (this.isLog) {
      this.answerNow();
      if (this.svc.main.saved) this.svc.main.answerNow();
    } else if (!this.svc.log || this.svc.log.saved) {
      this.answerNow();
    }
    this.svc.opts.onSave?.();
  }

  /** A status has been written (or tried). */
  saved = false;

  /** The status is written: clients may find the supervisor now (supervise/ok). */
  private answerNow(): void {
    if (!this.answerDue) return;
    this.answerDue = false;
    try {
      if (this.fifos) files.openOk(this.fifos, this.sup, this.name);
    } catch (e) {
      this.svc.opts.report('warning', (e as files.Step).what ?? `unable to open ${this.name}/ok`, (e as files.Step).cause);
    }
  }

  private changed(state: State, pid: number, keepTime = false): void {
    this.state = state;
    if (pid !== 0) this.pidKnown = true;
    this.pid = pid;
    // ./finish keeps the time ./run started, as runit does: `finish: ... 4s` counts from the run
    if (!keepTime) this.when = tai.now();
    this.save();
  }

  /** Start ./run when down, no sooner than a second after its last start. */
  up(): void {
    this.startPending = true;
    if (this.state !== STATE.down || this.delay || this.starting) return;
    const wait = this.lastStart + this.delayMs - Date.now();
    if (wait > 0) {
      this.delay = setTimeout(() => { this.delay = null; if (this.startPending) this.up(); }, wait);
      this.noteRecord({ nextStart: (this.lastStart + this.delayMs) / 1000 });
      return;
    }
    this.startPending = false;
    this.lastStart = Date.now();
    void this.startRun();
  }

  private starting = false;
  /** The log service run by the supervisor itself, while it runs. */
  private taken: TakenLog | null = null;

  /** control/u runs (and is waited for) before every start of ./run. */
  private async startRun(): Promise<void> {
    this.starting = true;
    // the listing Service.start took, good while nothing has waited
    let listing = this.listing;
    this.listing = null;
    try {
      const u = this.isLog ? null : this.script('u', listing);
      if (u && this.answerDue) this.save(); // down, wanting up, while control/u runs
      if (u) { listing = null; await u; }
    } catch (e) {
      this.svc.opts.report('warning', 'unable to run control/u', e);
    }
    if (this.svc.exiting || this.state !== STATE.down) { this.starting = false; return; }
    this.cfg = servicedir.read(this.dir, listing ?? servicedir.list(this.dir));
    if (!this.fresh) readiness.clear(this.sup);
    this.fresh = false;
    this.ready = false;
    this.readyEarly = false;
    this.ownGroup = this.svc.opts.newSession === true || this.cfg.killpg;
    const extra: [number, number][] = [];
    if (this.cfg.notificationFd !== null) {
      try {
        this.notify = notifier.listen(() => this.becameReady());
        extra.push([this.notify.writeFd, this.cfg.notificationFd]);
      } catch (e) {
        this.svc.opts.report('warning', 'unable to create pipe for notification-fd', e);
      }
    }
    let env: NodeJS.ProcessEnv | undefined;
    if (this.cfg.notifySocket) {
      try {
        this.notifySock = notifyListen(() => this.pid, () => this.becameReady());
        env = { ...(this.svc.opts.env ?? process.env), NOTIFY_SOCKET: this.notifySock.address };
      } catch (e) {
        this.svc.opts.report('warning', 'unable to create notify-socket', e);
      }
    }
    const started = Date.now();
    const ran: children.OnExit = (code, sig, status, failed) => {
      if (failed) this.cannotStart('./run', failed);
      this.gone = true;
      this.taken = null;
      this.killTimer.cancel();
      this.svc.whenFree(() => {
        this.child = 0;
        this.gone = false;
        this.ended(code, sig, Date.now() - started);
        this.ranOut(code ?? -1, sig === 0 ? 0 : status & 0xff);
      });
    };
    // The clone waits on a worker thread until ./run has exec'd, while the
    // event loop goes on (the other services of a host start meanwhile).
    // Until the pid is known the service is held, as for a control script:
    // commands, and an exit already reaped, wait for it.
    const run = (): void => {
      this.spawnAsync('./run', [], ran, { dup: extra, group: this.ownGroup, env }, (child) => {
        if (this.svc.abandoned) { if (child) children.forget(child); return; }
        this.launched(child);
        this.svc.scriptEnds();
      });
    };
    // a log service with readiness settings of its own is left to its ./run
    const own = this.cfg.notificationFd === null && !this.cfg.notifySocket;
    const taken = this.isLog && own ? this.svc.opts.takeLog?.(this.dir, this.svc.logPipe![0], ran, (pid) => {
      // the stand-in of a log service the supervisor runs, started on a worker thread as ./run is
      if (this.svc.abandoned) { if (pid) children.forget(pid); return; }
      if (!pid) { this.taken = null; run(); return; } // held on until ./run's pid is known
      this.launched(pid);
      this.svc.scriptEnds();
    }) ?? null : null;
    this.taken = taken;
    if (taken?.pid) { this.launched(taken.pid); return; }
    this.svc.scriptBegins();
    if (!taken) run();
  }

  /** ./run started as `child` (0: it could not be). */
  private launched(child: number): void {
    this.starting = false;
    this.notify?.spawned();
    if (!child) { this.dropNotify(); this.ranOut(111, 0); return; }
    this.child = child;
    // the second between starts counts from the fork, as runit's runsv takes the time
    // after it: control/u or a busy loop between the decision and the fork is not part of it
    this.lastStart = Date.now();
    this.noteRecord({ starts: this.rec.starts + 1, startedAt: this.lastStart / 1000, nextStart: null }, false);
    this.paused = false;
    this.changed(STATE.run, child);
    this.notifySock?.known();
    if (this.readyEarly) { this.readyEarly = false; this.becameReady(); }
  }

  private readyEarly = false;

  /**
   * Take over what a dead supervisor left running (adopt.ts): its state as
   * status records it (pid, time, want, paused, TERM sent). Its end comes
   * without an exit status: ./finish then gets -1 and 0. False if it ended meanwhile.
   */
  adopt(o: adopt.Orphan): boolean {
    const s = o.status;
    const finishing = s.state === STATE.finish;
    const pipe = this.svc.logPipe;
    const taken = this.isLog && !finishing && pipe ? this.svc.opts.adoptLog?.(this.dir, pipe[0], o.pid) ?? null : null;
    const ended = (): void => {
      this.taken = null;
      this.orphanEnded(finishing);
    };
    if (!pidwatch.watch(o.pid, () => (taken?.ended ? taken.ended(ended) : ended()))) {
      taken?.ended?.(() => {});
      return false;
    }
    this.taken = taken;
    this.adopted = true;
    this.child = o.pid;
    this.state = s.state;
    this.pid = o.pid;
    this.when = s.when;
    this.want = s.want;
    this.paused = s.paused;
    this.term = s.term;
    this.lastStart = Date.now();
    this.startPending = false;
    this.save();
    return true;
  }

  private orphanEnded(finishing: boolean): void {
    this.gone = true;
    this.svc.whenFree(() => {
      this.child = 0;
      this.gone = false;
      this.adopted = false;
      // how it ended is not known (no exit status): only that it did
      if (!finishing) { readiness.clear(this.sup); this.noteRecord({ exitCode: null, exitSignal: null, exitedAt: record.unixNow() }); }
      if (finishing) this.settled();
      else this.ranOut(-1, 0);
    });
  }

  /** Stop watching ./run or ./finish (a supervision abandoned): it runs on, unsupervised. */
  forget(): void {
    if (!this.child) return;
    if (this.adopted) pidwatch.unwatch(this.child);
    else children.forget(this.child);
  }

  private cancelStart(): void {
    this.startPending = false;
    if (this.delay) { clearTimeout(this.delay); this.delay = null; }
    if (this.rec.nextStart !== null) this.noteRecord({ nextStart: null });
  }

  /** Change the record, and write it now (else with the next status). */
  noteRecord(change: Partial<record.Record>, now = true): void {
    Object.assign(this.rec, change);
    this.recordDue = true;
    if (now) this.writeRecord();
  }

  private writeRecord(): void {
    if (!this.fifos) return;
    this.recordDue = false;
    record.write(this.sup, this.rec, this.answerDue, files.openPath);
  }

  /** ./run wrote its newline on notification-fd. */
  private becameReady(): void {
    // before its pid is known (the spawn finishes on a worker thread): counted once it is
    if (this.starting) { this.readyEarly = true; return; }
    if (this.state !== STATE.run || this.gone) return;
    this.ready = true;
    readiness.mark(this.sup);
  }

  /** ./run ended: forget its readiness, record how it ended, work out the next wait. */
  private dropNotify(): void {
    this.notify?.done();
    this.notify = null;
    this.notifySock?.close();
    this.notifySock = null;
  }

  private ended(code: number | null, sig: number, ranMs: number): void {
    this.dropNotify();
    readiness.clear(this.sup);
    this.failures = backoff.early(this.cfg.backoff, ranMs, this.ready) ? this.failures + 1 : 0;
    this.delayMs = backoff.delay(this.failures, this.cfg.backoff);
    this.ready = false;
    this.noteRecord({ exitCode: code, exitSignal: code === null ? sig : null, exitedAt: record.unixNow() });
  }

  /** Start a program of the service's (./run, ./finish, control/X): its pid, or 0 if it cannot start. */
  private spawn(file: string, args: string[], onExit: children.OnExit, more: SpawnMore = {}): number {
    try {
      return children.start(file, [file, ...args], this.spawnOptions(more), onExit);
    } catch (e) {
      this.cannotStart(file, e);
      return 0;
    }
  }

  /** spawn(), on a worker thread (children.startAsync): `started` gets the pid, or 0. */
  private spawnAsync(file: string, args: string[], onExit: children.OnExit, more: SpawnMore,
    started: (pid: number) => void): void {
    children.startAsync(file, [file, ...args], this.spawnOptions(more), (e, pid) => {
      if (e) this.cannotStart(file, e);
      started(pid);
    }, onExit);
  }

  private spawnOptions(more: SpawnMore): SpawnOptions {
    // stdin, stdout and stderr are runsv's, but for the log pipe (Node set close-on-exec on all three)
    const pipe = this.svc.logPipe;
    const dup: [number, number][] = [[0, 0], [1, 1], [2, 2]];
    if (this.isLog) dup[0] = [pipe![0], 0];
    else if (pipe && pipe[1] >= 0) dup[1] = [pipe[1], 1];
    dup.push(...more.dup ?? []);
    return { cwd: this.dir, dup, newSession: more.group || this.svc.opts.newSession, env: more.env ?? this.svc.opts.env };
  }

  private cannotStart(file: string, e: unknown): void {
    this.svc.opts.report('fatal', `unable to start ${this.isLog ? `log/${file}` : file}`, e);
  }

  /** ./run is gone: run ./finish if there is one, else settle down. */
  private ranOut(code: number, sig: number): void {
    this.term = false;
    const ran = this.pid;
    if (fs.existsSync(path.join(this.dir, 'finish'))) {
      // s6's third and fourth arguments, when ./run had a process group of its own to clean up
      const args = [String(code), String(sig), ...(this.ownGroup && ran ? [this.svc.name, String(ran)] : [])];
      const finishTimer = new Deadline();
      const child = this.spawn('./finish', args, (fcode) => {
        finishTimer.cancel();
        this.svc.whenFree(() => {
          this.child = 0;
          // s6: ./finish exiting 125 is a permanent failure, not restarted until told up
          if (fcode === 125 && !this.isLog) { this.want = 'd'; this.noteRecord({ permanent: true }); }
          this.settled();
        });
      });
      if (child) {
        finishTimer.arm(this.cfg.timeoutFinish, child, false);
        this.child = child;
        this.paused = false;
        this.changed(STATE.finish, child, true);
        return;
      }
    }
    this.settled();
  }

  private settled(): void {
    this.changed(STATE.down, 0);
    if (this.wantExit) { this.svc.checkExit(); return; }
    if (this.want === 'u' || this.startPending) this.up();
  }

  private signal(sig: NodeJS.Signals): void {
    if (this.state !== STATE.run || !this.pid || this.gone) return;
    if (this.taken?.signal(sig)) return;
    try { process.kill(this.pid, sig); } catch { /* already gone; its exit is on the way */ }
  }

  /**
   * A control script control/X, if there is one: a promise of true if it
   * exited 0 (the default action is then skipped); null if there is none.
   */
  private script(c: string, listing: string[] | null = null): Promise<boolean> | null {
    if (listing && !listing.includes('control')) return null;
    const file = path.join(this.svc.dir, 'control', c);
    try {
      fs.accessSync(file, fs.constants.X_OK);
      if (!fs.statSync(file).isFile()) return null;
    } catch {
      return null;
    }
    // runsv waits for it before it handles anything else (an exit, a command).
    this.svc.scriptBegins();
    return new Promise<boolean>((resolve) => {
      if (!this.spawn(`control/${c}`, [], (code) => resolve(code === 0))) resolve(false);
    }).finally(() => this.svc.scriptEnds());
  }

  /**
   * Bytes from supervise/control. A byte that is no command is dropped here,
   * as runsv ignores it: it costs the read and nothing else.
   */
  command(bytes: string): void {
    for (let i = 0; i < bytes.length; i++) {
      const c = bytes.charCodeAt(i);
      if (c < 128 && COMMAND[c]) this.queue.push(bytes[i]!);
    }
    if (!this.busy && this.head < this.queue.length) this.drain(false);
  }

  /**
   * Handle the queued commands in order, in this turn, with one write of the
   * status files at the end; a command that runs a control script (or finds
   * one running) holds the rest until it is done, as runsv waits for each script.
   * `turn`: called by whenFree, the service is ours now.
   */
  private drain(turn: boolean): void {
    let handled = false;
    while (this.head < this.queue.length) {
      if (!turn && !this.svc.free()) {
        this.busy = true;
        this.svc.whenFree(() => this.drain(true));
        break;
      }
      turn = false;
      this.busy = false;
      const c = this.queue[this.head++]!;
      // A command is handled whole (control/t, then control/d or control/x)
      // before an exit that happened meanwhile: it holds the service until done.
      this.svc.scriptBegins();
      let pending: Promise<void> | void = undefined;
      try {
        pending = this.one(c);
      } catch (e) {
        this.failed(c, e);
      }
      if (pending) {
        this.busy = true;
        pending.catch((e: unknown) => this.failed(c, e)).finally(() => {
          this.svc.scriptEnds();
          if (this.fifos) this.save();
          this.busy = false;
          if (this.head < this.queue.length) this.drain(false);
        });
        break;
      }
      this.svc.scriptEnds();
      handled = true;
    }
    if (this.head >= this.queue.length) { this.queue = []; this.head = 0; }
    if (handled && this.fifos) this.save();
  }

  private failed(c: string, e: unknown): void {
    // one bad command must not take the supervisor (or its neighbours) down
    this.svc.opts.report('warning', `unable to handle control command ${JSON.stringify(c)}`, e);
  }

  /** One command; a promise when it waits for a control script. */
  private one(c: string): Promise<void> | void {
    const custom = !this.isLog; // the log service's control cannot be customized
    const running = this.state === STATE.run && this.pid !== 0;
    switch (c) {
      case 'u':
      case 'o':
        // u, d, o and x replace one another: a later u cancels a pending exit
        this.want = c === 'u' ? 'u' : 'd';
        this.wantExit = false;
        if (c === 'u' && this.rec.permanent) this.noteRecord({ permanent: false });
        if (this.state === STATE.down) this.up();
        return;
      case 'd':
        this.want = 'd';
        this.wantExit = false;
        this.cancelStart();
        if (running) return this.stop(custom);
        return;
      case 'x': {
        if (this.isLog) return;
        this.want = 'd';
        this.wantExit = true;
        this.cancelStart();
        const stopping = running ? this.stop(custom) : undefined;
        if (stopping) return stopping.then(() => this.svc.checkExit());
        this.svc.checkExit();
        return;
      }
      case 't':
        if (running) return this.stop(custom);
        return;
      default: {
        const sig = signalOf[c];
        if (!sig) return;
        // the paused flag follows p and c whatever the state; signals go to ./run only
        if (c === 'p') this.paused = true;
        if (c === 'c') this.paused = false;
        if (!running) return;
        const s = custom ? this.script(c) : null;
        if (s) return s.then((done) => { if (!done) this.signal(sig); });
        this.signal(sig);
      }
    }
  }

  /**
   * d, x and t on a running service: control/t or TERM; then, if it is to stay
   * down (or exit), CONT and control/d (control/x).
   */
  private stop(custom: boolean): Promise<void> | void {
    const t = custom ? this.script('t') : null;
    if (t) return t.then((done) => { if (!done) this.term1(); return this.stopped(custom); });
    this.term1();
    return this.stopped(custom);
  }

  /** The stop signal: down-signal for d and x (TERM without the file); t is TERM by name. Then timeout-kill's clock. */
  private term1(): void {
    this.signal(this.want === 'd' ? this.cfg.downSignal : 'SIGTERM');
    if (this.state === STATE.run) this.term = true;
  }

  private stopped(custom: boolean): Promise<void> | void {
    if (this.state === STATE.run && !this.gone) this.killTimer.arm(this.cfg.timeoutKill, this.pid, this.cfg.killpg);
    if (this.want === 'u') return;
    this.signal('SIGCONT'); // runsv leaves the paused flag as it is until the next start
    const s = custom ? this.script(this.wantExit ? 'x' : 'd') : null;
    if (s) return s.then(() => undefined);
  }
}

export class Service {
  readonly main: Proc;
  log: Proc | null = null;
  logPipe: [number, number] | null = null;
  exiting = false;
  /** A supervision that failed (abandon): what was under way is let go. */
  abandoned = false;
  /** Control scripts (or commands that may run them) in progress: runsv waits for one (waitpid) before anything else. */
  private scripts = 0;
  private held: (() => void)[] = [];

  /** The service's name as its label gives it (`runsv NAME`): ./finish's third argument. */
  get name(): string {
    return path.basename(this.opts.label.replace(/^runsv /, ''));
  }

  /** `dir` must be absolute. Throws files.Step (with a message) when it cannot start. */
  constructor(readonly dir: string, readonly opts: ServiceOptions) {
    this.main = new Proc(this, dir, path.join(dir, 'supervise'), 'supervise', false);
  }

  start(): void {
    if (!this.opts.dirOpen) {
      let st: fs.Stats;
      try {
        st = fs.statSync(this.dir);
      } catch (e) {
        throw new files.Step('unable to change to directory', e);
      }
      if (!st.isDirectory()) throw new files.Step('unable to change to directory', Object.assign(new Error(), { code: 'ENOTDIR' }));
    }
    // One listing answers what is looked for now (log, down) and at the first
    // start of ./run: a name it lacks is not there, one it has is looked at.
    const names = servicedir.list(this.dir);
    const listed = (n: string): boolean => names === null || names.includes(n);
    const logDir = path.join(this.dir, 'log');
    const logSt = listed('log') ? statOf(logDir) : null;
    if (logSt && !logSt.isDirectory()) this.opts.report('warning', './log: not a directory.');
    if (logSt?.isDirectory()) {
      try {
        this.logPipe = pipe();
      } catch (e) {
        throw new files.Step('unable to create pipe for log service', e);
      }
      this.log = new Proc(this, logDir, path.join(logDir, 'supervise'), 'log/supervise', true);
    }
    this.main.setup();
    const procs = this.log ? [this.main, this.log] : [this.main];
    const adopted = procs.map(() => false);
    try {
      this.log?.setup();
      // What a supervisor killed before us left running is taken over, with
      // the log pipe it writes to (man runsv keeps no such promise: runsv
      // would start a second instance). Found from the status files it left,
      // so before ours are written.
      const orphanOf = (p: Proc | null): adopt.Orphan | null => (p && !p.fresh ? adopt.orphan(p.sup, p.dir) : null);
      const orphans = [orphanOf(this.main), orphanOf(this.log)];
      if (this.logPipe) {
        const old = (orphans[1] && adopt.pipeOf(orphans[1].pid, 0)) ?? (orphans[0] && adopt.pipeOf(orphans[0].pid, 1));
        if (old) {
          for (const fd of this.logPipe) fs.closeSync(fd);
          this.logPipe = old;
        }
      }
      // Status first, then `ok`: whoever sees the supervisor (svok, sv) can
      // read its status, and its log's. A service to start has its first
      // status written once it runs (or has failed to start).
      for (const p of procs) p.answerLater();
      procs.forEach((p, i) => { const o = orphans[i]; adopted[i] = !!o && p.adopt(o); });
      procs.forEach((p, i) => {
        if (adopted[i]) return;
        if ((p !== this.main || listed('down')) && fs.existsSync(path.join(p.dir, 'down'))) p.want = 'd';
        if (p.want !== 'u') p.save();
      });
    } catch (e) {
      for (const p of procs) p.teardown();
      throw e;
    }
    this.main.listing = names;
    procs.forEach((p, i) => { if (!adopted[i] && p.want === 'u') p.up(); });
    this.main.listing = null; // a start of ./run that waits for control/u lists the directory again
  }

  /** No control script runs and nothing waits for one to end. */
  free(): boolean {
    return this.scripts === 0 && this.held.length === 0;
  }

  /** Do it now, or once no control script runs (in the order things happened). */
  whenFree(fn: () => void): void {
    if (this.free()) fn();
    else this.held.push(fn);
  }

  scriptBegins(): void {
    this.scripts++;
  }

  scriptEnds(): void {
    this.scripts--;
    // what was held may start another script (control/u before a restart): the rest waits for it
    while (this.scripts === 0 && this.held.length) this.held.shift()!();
  }

  /** runsv got TERM: act as if `x` was written to the control pipe. */
  exit(): void {
    this.main.command('x');
  }

  /** Called when something went down: is it time to leave? (man runsv, x) */
  checkExit(): void {
    if (this.exiting || !this.main.wantExit || this.main.state !== STATE.down) return;
    const log = this.log;
    if (log && log.state !== STATE.down) {
      log.wantExit = true;
      log.want = 'd';
      log.save();
      this.closeLogWriter();
      return;
    }
    this.exiting = true;
    this.release();
    this.opts.onExit();
  }

  /**
   * A supervision that failed (in a host): release what it holds (locks,
   * FIFOs, the log pipe) and stop listening to its children, which keep
   * running as a dead runsv's would.
   */
  abandon(): void {
    this.abandoned = true;
    for (const p of [this.main, this.log]) p?.forget();
    this.release();
  }

  private release(): void {
    this.closeLogWriter();
    for (const p of [this.main, this.log]) {
      try { p?.teardown(); } catch { /* as much as can be */ }
    }
    this.closePipeEnd(0);
  }

  private closeLogWriter(): void {
    this.closePipeEnd(1);
  }

  private closePipeEnd(i: 0 | 1): void {
    if (this.logPipe && this.logPipe[i] >= 0) {
      try { fs.closeSync(this.logPipe[i]); } catch { /* closed */ }
      this.logPipe[i] = -1;
    }
  }
}

/** stat(2), or null when it fails. */
function statOf(p: string): fs.Stats | null {
  try {
    return fs.statSync(p, { throwIfNoEntry: false }) ?? null;
  } catch {
    return null;
  }
}
