// runit's three stages (man runit), as a small state machine driven by child
// exits and signals. Every message, its words and its order are runit
// 2.1.2's, observed; where the man page and runit 2.1.2 disagree on a crash
// (2.1.2 takes a stage killed by a signal for one that exited 0), the man page
// and runit 2.3.0 are followed.
import fs from 'node:fs';
import { start } from '../sys/children.js';
import { kill } from '../sys/libc.js';
import { compactSoon } from '../runsvdir/compact.js';
import { consoleForStage1, fatal, info, warning } from './console.js';
import { exitStatus } from './mode.js';
import { CTRLALTDEL, STAGE, STOPIT } from './paths.js';
import { halt, leave, ownerExecutable } from './shutdown.js';

/** How long stage 2 has after TERM before KILL (runit: five one-second waits). */
export const STAGE2_GRACE_MS = 5000;
/** The pause after killing a failed stage 2 before it starts again (runit's sleep(5)). */
export const RESTART_PAUSE_MS = 5000;

const SIGTERM = 15;
const SIGKILL = 9;

export interface Options {
  /** A container's init: TERM shuts down, and runit exits with a status at the end. */
  container: boolean;
}

type Stage = 0 | 1 | 2; // index into STAGE: /etc/runit/1, 2, 3

interface Requests {
  /** CONT: shut down if stopit is executable by its owner. */
  cont: boolean;
  /** INT: run ctrlaltdel if it is executable by its owner. */
  ctrlAltDel: boolean;
  /** PWR, or TERM in a container: shut down. */
  shutdown: boolean;
}

export class Runit {
  private st: Stage = 0;
  /** The running stage's pid, 0 while none runs. */
  private pid = 0;
  /** Stage 2 was told to stop (TERM sent); its end leads to stage 3. */
  private stopping = false;
  private graceTimer: NodeJS.Timeout | null = null;
  private restartTimer: NodeJS.Timeout | null = null;
  private stage1Failed = false;
  private stage3Failed = false;
  /** Signals received and not yet taken. */
  private readonly requests: Requests = { cont: false, ctrlAltDel: false, shutdown: false };
  private woken = false;
  private inCtrlAltDel = false;

  constructor(private readonly opts: Options) {}

  boot(): void {
    const on = (sig: NodeJS.Signals, flag: keyof Requests): void => {
      process.on(sig, () => { this.requests[flag] = true; this.wake(); });
    };
    on('SIGCONT', 'cont');
    on('SIGINT', 'ctrlAltDel');
    on('SIGPWR', 'shutdown');
    if (this.opts.container) on('SIGTERM', 'shutdown');
    this.enter(0);
  }

  private enter(st: Stage): void {
    this.st = st;
    this.stopping = false;
    const prog = STAGE[st];
    info(`enter stage: ${prog}`);
    const stdin = st === 0 ? consoleForStage1() : null;
    try {
      this.pid = start(prog, [prog], {
        cwd: '/',
        // stage 1 stays in runit's session with the console; 2 and 3 get their own
        newSession: st !== 0,
        dup: stdin === null ? [] : [[stdin, 0]],
      }, (code) => this.ended(code));
    } catch (e) {
      // runit's child says so and exits 0: the stage is left as if it had run
      fatal(`unable to start child: ${prog}`, e);
      this.pid = 0;
      if (st === 0) this.stage1Failed = true;
      if (st === 2) this.stage3Failed = true;
      setImmediate(() => this.ended(0));
    } finally {
      if (stdin !== null) fs.closeSync(stdin);
    }
    // process 1 then sleeps for as long as the stage runs: start-up's garbage
    // collected, Node's code pages given back (as runsvdir does)
    compactSoon();
  }

  private ended(code: number | null): void {
    const prog = STAGE[this.st];
    const pid = this.pid;
    this.pid = 0;
    if (this.stopping) { // stage 2, told to stop: on to stage 3
      this.clearGrace();
      this.left();
      this.enter(2);
      return;
    }
    const crashed = code === null;
    if (crashed) warning(`child crashed: ${prog}`);
    else if (code !== 0) warning(`child failed: ${prog}`);
    const failed = crashed || code !== 0;
    if (this.st === 0 && failed) this.stage1Failed = true;
    if (this.st === 2 && failed) this.stage3Failed = true;
    if (this.st === 1 && (crashed || code === 111)) {
      warning('killing all processes in stage 2...');
      if (pid > 0) kill(-pid, SIGKILL); // its session's process group: stage 2 is its leader
      this.restartTimer = setTimeout(() => {
        this.restartTimer = null;
        warning('restarting.');
        this.enter(1);
      }, RESTART_PAUSE_MS);
      return;
    }
    this.left();
    if (this.st === 0 && (crashed || code === 100)) {
      warning('skipping stage 2...');
      this.enter(2);
      return;
    }
    this.next();
  }

  private left(): void {
    info(`leave stage: ${STAGE[this.st]}`);
  }

  private next(): void {
    if (this.st === 0) this.enter(1);
    else if (this.st === 1) this.enter(2);
    else this.finish();
  }

  private finish(): void {
    if (this.opts.container) leave(exitStatus(this.stage1Failed, this.stage3Failed));
    halt();
    // reboot(2) failed: process 1 stays, and goes on reaping.
    setInterval(() => { /* only held */ }, 2 ** 30);
  }

  /**
   * Signals that came together are taken together, as runit takes what it
   * found on waking: in stage 2 only (runit's rule), else one warning and
   * they are dropped. Not while ctrlaltdel runs (runit waits for it).
   */
  private wake(): void {
    if (this.woken || this.inCtrlAltDel) return;
    this.woken = true;
    setImmediate(() => {
      this.woken = false;
      const r = this.requests;
      if (!r.cont && !r.ctrlAltDel && !r.shutdown) return;
      if (this.st !== 1) {
        warning('signals only work in stage 2.');
        r.cont = r.ctrlAltDel = r.shutdown = false;
        return;
      }
      if (r.ctrlAltDel && ownerExecutable(CTRLALTDEL)) {
        r.ctrlAltDel = false;
        this.ctrlAltDel();
        return;
      }
      const stop = r.shutdown || (r.cont && ownerExecutable(STOPIT));
      if (r.cont && stop && !r.shutdown) {
        try { fs.chmodSync(STOPIT, 0); } catch { /* runit does not check */ }
      }
      r.cont = r.ctrlAltDel = r.shutdown = false;
      if (stop) this.stopStage2();
    });
  }

  /** ctrl-alt-del: /etc/runit/ctrlaltdel runs, is waited for, then CONT is taken as sent. */
  private ctrlAltDel(): void {
    this.inCtrlAltDel = true;
    info('ctrl-alt-del request...');
    info(`enter stage: ${CTRLALTDEL}`);
    const done = (crashed: boolean): void => {
      if (crashed) warning(`child crashed: ${CTRLALTDEL}`);
      info(`leave stage: ${CTRLALTDEL}`);
      this.inCtrlAltDel = false;
      this.requests.cont = true;
      this.wake();
    };
    try {
      start(CTRLALTDEL, [CTRLALTDEL], { cwd: '/' }, (code) => done(code === null));
    } catch (e) {
      fatal(`unable to start child: ${CTRLALTDEL}`, e);
      setImmediate(() => done(false));
    }
  }

  /** Shutdown requested in stage 2: stage 2 gets TERM, then KILL after the grace; stage 3 follows its end. */
  private stopStage2(): void {
    if (this.stopping) return;
    this.stopping = true;
    if (this.restartTimer) { // between a failed stage 2 and its restart: nothing to stop
      clearTimeout(this.restartTimer);
      this.restartTimer = null;
      this.left();
      this.enter(2);
      return;
    }
    const pid = this.pid;
    if (pid === 0) return; // it could not start: its end is on its way
    kill(pid, SIGTERM);
    this.graceTimer = setTimeout(() => {
      this.graceTimer = null;
      warning('stage 2 not terminated, sending sigkill...');
      kill(pid, SIGKILL);
    }, STAGE2_GRACE_MS);
  }

  private clearGrace(): void {
    if (this.graceTimer) clearTimeout(this.graceTimer);
    this.graceTimer = null;
  }
}
