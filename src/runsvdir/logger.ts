// Loggers the host runs itself. A log service whose ./run is nothing but
// `exec svlogd [options] dir...`, with this installation's svlogd, is not a
// Node process of its own: the host runs the svlogd engine (src/svlogd/) on
// the log pipe, and starts in place of svlogd a stand-in (libexec/svlogd,
// scripts/standin.mjs) that does nothing but wait for a signal. The stand-in
// is the log service's pid, as svlogd would be: it holds the log pipe as its
// standard input (so the pipe, and every line in it, outlives a host that
// dies), `ps` shows it as `svlogd -tt ./main` in the log directory, and it
// ends on what ends svlogd. It is started on a worker thread, as ./run is
// (children.startAsync): until its pid is known the log service is held, and
// the engine starts with it.
//
// `sv hup log` and `sv alarm log` reach the engine directly (reopen and
// re-read config; rotate). A signal sent by hand to the stand-in ends it: the
// engine then writes out what it has read (after a rotation, for ALRM) and
// ends as svlogd does on TERM, and runsv starts the log service again.
//
// `exec chpst -u USER svlogd ...` (this installation's chpst, -u and nothing
// else) runs in the host too, as USER: every step the engine takes on the log
// directories' files is taken with the host's main thread acting as USER
// (src/sys/identity.ts), so the kernel checks, owns and charges them as that
// user's; the stand-in and the processors are started as USER, so they are
// that user's processes, as svlogd and its processors are under chpst.
//
// Which ./run is such a logger, logrun.ts tells. Anything else (another chpst
// option, a variable, quoting, another program, another svlogd) runs as it
// is, a process of its own; so does a chpst -u logger the host cannot act
// for (an unknown user, a host not root).
//
// Where svlogd would pause and try again every 3 s (current cannot be opened,
// an unfinished one renamed), the host, which must not block, gives up: the
// engine ends (having taken from the pipe only what it wrote), and that log
// service, ended like svlogd, is started again as its ./run, the svlogd
// program, which pauses as runit's does. Its directory is not taken again
// until the host restarts.
import fs from 'node:fs';
import { GAVE_UP, type Logger, runLogger } from '../svlogd/engine.js';
import { pipeInput } from '../svlogd/input.js';
import type { SpawnProcessor } from '../svlogd/logdir.js';
import { type Options, readOptions } from '../svlogd/options.js';
import * as children from '../sys/children.js';
import type { SpawnOptions } from '../sys/libc.js';
import { asUser, CannotAct, canAct, idsOf, type User } from '../sys/identity.js';
import { hostedLogger, refuse, standin } from './logrun.js';

import type { TakenLog } from '../supervise/service.js';

const SIGHUP = 1;
const SIGALRM = 14;
const SIGTERM = 15;
/** A step as the host, or as `user`. */
type As = <T>(step: () => T) => T;
const asHost: As = (step) => step();

/**
 * Steps as `user`, for a logger whose user was acted as once already (its
 * plan): the switch cannot fail then, and if it did the host must not go on
 * as whoever it is.
 */
function actingAs(user: User): As {
  return (step) => {
    try {
      return asUser(user, step);
    } catch (e) {
      if (!(e instanceof CannotAct)) throw e;
      try { fs.writeSync(2, `runsv: fatal: unable to act as uid ${user.uid}: ${String(e.cause)}\n`); } catch { /* no stderr */ }
      process.exit(111);
    }
  };
}

const spawnProcessor: SpawnProcessor = (cmd, cwd, fds, onExit) => {
  const devnull = fs.openSync('/dev/null', 'r');
  try {
    const dup: [number, number][] = [[fds[0]!, 0], [fds[1]!, 1], [2, 2], [devnull, 3], [fds[2]!, 4], [fds[3]!, 5]];
    return children.start('/bin/sh', ['sh', '-c', cmd], { cwd, dup }, (code) => onExit(code ?? 111));
  } finally {
    fs.closeSync(devnull);
  }
};

/** How a stand-in ended: its exit status, or unknown (an adopted one, watched through a pidfd). */
type End = { code: number | null; sig: number } | null;

/** The engine for one log service, and its stand-in's life. */
class Taken implements TakenLog {
  pid = 0;
  private logger: Logger | null = null;
  private reading = false; // the engine's input has the descriptor (and closes it)
  private gone: { end: End } | null = null;
  private engineCode: number | null = null;
  private told = false;

  /** `fd`: the engine's own descriptor of the log pipe; `onEnd` once both the stand-in and the engine are done. */
  constructor(private fd: number, private onEnd: (engine: number, end: End) => void) {}

  run(dir: string, opt: Options, as: As): void {
    this.logger = runLogger(opt, {
      at: dir,
      as,
      input: (onData, onEnd, round) => {
        this.reading = true;
        return pipeInput(onData, onEnd, round, this.fd); // ownEnd's, of the log pipe
      },
      spawn: spawnProcessor,
      blockingRetry: false,
      exit: (code) => {
        if (this.engineCode !== null) return;
        if (code === GAVE_UP) {
          // svlogd would pause here: its ./run does, a process of its own
          refuse(dir);
          code = 111;
        }
        this.engineCode = code;
        if (!this.reading) fs.closeSync(this.fd);
        if (this.gone === null && this.pid) {
          try { process.kill(this.pid, 'SIGTERM'); } catch { /* gone: its end is on the way */ }
        }
        this.finish();
      },
    });
  }

  /** The stand-in is gone: the engine writes out what it read (ALRM: rotates first) and ends. */
  standinEnded(end: End): void {
    this.gone = { end };
    if (this.engineCode === null && this.logger) {
      if (end?.sig === SIGALRM) this.logger.alarm();
      this.logger.term();
    }
    this.finish();
  }

  private finish(): void {
    if (this.gone === null || this.engineCode === null || this.told) return;
    this.told = true;
    this.onEnd(this.engineCode, this.gone.end);
  }

  signal(sig: NodeJS.Signals): boolean {
    const l = this.logger;
    if (this.engineCode !== null || !l) return false;
    if (sig === 'SIGHUP') l.hup();
    else if (sig === 'SIGALRM') l.alarm();
    else {
      // sv pause / cont: the stand-in is stopped too (ps shows it), the engine holds its reading
      if (sig === 'SIGSTOP') l.stop();
      if (sig === 'SIGCONT') l.cont();
      return false;
    }
    return true;
  }
}

/** A descriptor of the engine's own on the log pipe (the supervisor's stays as it is). */
function ownEnd(pipeFd: number): number | null {
  try {
    return fs.openSync(`/proc/self/fd/${pipeFd}`, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
  } catch {
    return null;
  }
}

/**
 * Run `dir`'s logger in the host if its ./run is plain svlogd (else null: run
 * ./run). `pipeFd` is the log pipe's reading end; `env` the stand-in's
 * environment (./run's); `onExit` is told when the log service has ended,
 * once the engine has written out everything it read.
 *
 * The stand-in of a logger run as the host is started on a worker thread
 * (children.startAsync, as the supervisor starts ./run): its pid, and the
 * engine's start, come later to `started`, 0 if it cannot be started (then
 * ./run runs, as when the stand-in cannot be started at once). One run as a
 * user is started here, on the main thread, which alone can act as the user
 * (identity.ts): the TakenLog has its pid.
 */
export function takeOver(dir: string, pipeFd: number, newSession: boolean, env: NodeJS.ProcessEnv,
  onExit: children.OnExit, started: (pid: number) => void): TakenLog | null {
  const plan = hostedLogger(dir);
  if (!plan) return null;
  const { words, user } = plan;
  const fd = ownEnd(pipeFd);
  if (fd === null) return null;
  const t = new Taken(fd, (engine, end) => {
    // What svlogd handles (TERM) or would not have died of (HUP, ALRM) reads as its exit.
    const s = end?.sig ?? 0;
    if (end?.code !== null || s === SIGTERM || s === SIGHUP || s === SIGALRM || engine !== 0) onExit(engine, 0, engine << 8);
    else onExit(null, s, s);
  });
  const opts: SpawnOptions = { cwd: dir, dup: [[pipeFd, 0], [1, 1], [2, 2]], newSession, env };
  const ended: children.OnExit = (code, sig) => t.standinEnded({ code, sig });
  const opt = readOptions(words.slice(1))!;
  if (!user) {
    children.startAsync(standin, words, opts, (err, pid) => {
      if (err) {
        fs.closeSync(fd);
        started(0);
        return;
      }
      t.pid = pid;
      t.run(dir, opt, asHost);
      started(pid);
    }, ended);
    return t;
  }
  try {
    // started as the user, the stand-in is that user's process (ps -o user), as svlogd under chpst
    t.pid = asUser(user, () => children.start(standin, words, opts, ended));
  } catch {
    fs.closeSync(fd); // the user may not enter the log service's directory, say: ./run runs
    return null;
  }
  t.run(dir, opt, actingAs(user));
  return t;
}

/** The user a stand-in runs as (chpst -u's ids, /proc/PID/status), or null if it is the host's own. */
function userOf(pid: number): User | null {
  const ids = idsOf(pid);
  const uid = ids.uid[0] ?? 0;
  const gid = ids.gid[0] ?? 0;
  if (uid === process.getuid!() && gid === process.getgid!()) return null;
  return { uid, gid, groups: ids.groups };
}

/**
 * A stand-in a host that died left running (the supervisor adopts it, with
 * the log pipe, src/supervise/adopt.ts): its engine is started again on the
 * pipe, with the arguments the stand-in shows. Null if `pid` is no stand-in of
 * ours. The supervisor tells `ended` when the stand-in is gone; `then` runs
 * once the engine has written out what it read.
 */
export function adoptStandin(dir: string, pipeFd: number, pid: number): (TakenLog & { ended(then: () => void): void }) | null {
  let words: string[];
  let user: User | null;
  try {
    if (fs.realpathSync(`/proc/${pid}/exe`) !== standin) return null;
    words = fs.readFileSync(`/proc/${pid}/cmdline`, 'latin1').split('\0').slice(0, -1);
    user = userOf(pid);
  } catch {
    return null;
  }
  if (user && !canAct()) return null;
  const opt = readOptions(words.slice(1));
  if (!opt) return null;
  const fd = ownEnd(pipeFd);
  if (fd === null) return null;
  let then: (() => void) | null = null;
  let done = false;
  const t = new Taken(fd, () => {
    done = true;
    then?.();
  });
  t.pid = pid;
  t.run(dir, opt, user ? actingAs(user) : asHost);
  return Object.assign(t, {
    ended(cb: () => void): void {
      then = cb;
      if (done) cb();
      else t.standinEnded(null);
    },
  });
}
