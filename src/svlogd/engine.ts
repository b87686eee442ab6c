// The svlogd engine: lines from an input, selected per log directory,
// stamped, and written to automatically rotated logs (man svlogd). The
// program (main.ts) runs one on its standard input; the runsvdir host runs
// one per log service it takes over (src/runsvdir/logger.ts), on the log pipe.
import type dgram from 'node:dgram';
import fs from 'node:fs';
import { now } from './clock.js';
import type { Input } from './input.js';
import { type Env, GiveUp, LogDir, type SpawnProcessor } from './logdir.js';
import type { Options } from './options.js';
import { pmatch } from './pattern.js';
import { sayFatal } from './say.js';
import { Stamp } from './stamp.js';

const NEWLINE = 0x0a;
const DOTS = Buffer.from('...');
const NL = Buffer.from('\n');

/** The exit of a logger that gave up on a setup step (LoggerIO.blockingRetry false). */
export const GAVE_UP = -1;

/** What a logger needs from where it runs. */
export interface LoggerIO {
  /** What the directories' names are relative to (the working directory if not given). */
  at?: string;
  /** Its input, read as chunks of at most about `round` bytes; `onEnd` at its end. */
  input(onData: (chunk: Buffer) => void, onEnd: () => void, round: number): Input;
  /** Start a processor (man svlogd, PROCESSOR). */
  spawn: SpawnProcessor;
  /**
   * Where svlogd pauses and tries again, blocking (a setup step failing: current
   * cannot be opened, an unfinished one renamed), as runit's does unless false.
   * False (the runsvdir host): the logger ends at once with GAVE_UP instead,
   * every directory closed; all it took from its input is written out.
   */
  blockingRetry?: boolean;
  /** Run each step on the log directories' files as the logger's user (Env.as); as they are if not given. */
  as?: <T>(step: () => T) => T;
  /**
   * It is done: everything written, every directory closed (0), it cannot log
   * at all (111), or it gave up (GAVE_UP).
   */
  exit(code: number): void;
}

/** What svlogd does on its signals: HUP, ALRM, TERM, and STOP / CONT (reading held, then going on). */
export interface Logger {
  hup(): void;
  alarm(): void;
  term(): void;
  stop(): void;
  cont(): void;
}

export function runLogger(opt: Options, io: LoggerIO): Logger {
  const L = opt.linemax;
  // A line is held until its newline arrives, up to this many bytes; a longer
  // one is written in pieces, its first piece stamped and matched (as runit does).
  const CAP = Math.max(opt.buflen, 1 << 16);

  // Characters -r / -R replace in the first len characters of a line.
  const rtab = new Uint8Array(256);
  if (opt.repl >= 0) {
    for (let c = 0; c < 256; c++) if (c < 32 || c > 126) rtab[c] = 1;
    for (const c of opt.replace) rtab[c] = 1;
  }
  const scratch = Buffer.allocUnsafe(L);

  let udp: dgram.Socket | null = null;
  let udpPending = 0;
  const env: Env = {
    at: io.at ?? '',
    linemax: L,
    verbose: opt.verbose,
    wake: () => pump(),
    spawn: io.spawn,
    blockingRetry: io.blockingRetry ?? true,
    as: io.as ?? ((step) => step()),
    udp: (msg, port, host, done) => {
      if (!udp) {
        // node:dgram loaded at the first line sent: most logs send none
        udp = process.getBuiltinModule('node:dgram').createSocket('udp4');
        udp.on('error', () => { /* reported per send */ });
        udp.unref();
      }
      udpPending++;
      udp.send(msg, port, host, (err) => {
        udpPending--;
        done(err ?? null);
        if (exiting) pump();
      });
    },
  };

  let dirs: LogDir[] = [];
  const openAll = (old: LogDir[]): void => {
    dirs = [];
    for (const name of opt.dirs) {
      const prev = old.find((d) => d.name === name);
      let d: LogDir | null;
      try {
        d = LogDir.open(name, env, prev?.proc ?? null);
      } catch (e) {
        if (!(e instanceof GiveUp)) throw e;
        for (const o of dirs) o.close();
        dirs = [];
        dead = true;
        input?.stop();
        io.exit(GAVE_UP);
        return;
      }
      if (d) dirs.push(d);
    }
    if (dirs.length === 0) {
      sayFatal('no functional log directories.');
      dead = true;
      input?.stop();
      io.exit(111);
    }
  };
  let dead = false;
  let input: Input | null = null;
  openAll([]);

  const stamp = opt.stamp ? new Stamp(opt.stamp) : null;
  let sb: Buffer | null = null; // this chunk's timestamp
  let errOut: Buffer[] = [];

  /** The short form for standard error and udp: first len characters, `...` if cut. */
  const shortLine = (d: LogDir, h: Buffer, hs: number, hl: number, long: boolean): Buffer => {
    const parts: Buffer[] = [];
    if (sb) parts.push(Buffer.from(sb));
    if (d.cfg.prefix.length) parts.push(d.cfg.prefix);
    parts.push(h.subarray(hs, hs + hl));
    if (long) parts.push(DOTS);
    parts.push(NL);
    return Buffer.concat(parts);
  };

  /** One line: src[s, e), e at its newline (or the end of a first piece when !eol). */
  const line = (src: Buffer, s: number, e: number, eol: boolean): void => {
    const len = e - s;
    const hl = len < L ? len : L;
    const long = len >= L || !eol;
    let h = src;
    let hs = s;
    if (opt.repl >= 0) {
      src.copy(scratch, 0, s, s + hl);
      for (let i = 0; i < hl; i++) if (rtab[scratch[i]!]) scratch[i] = opt.repl;
      h = scratch;
      hs = 0;
    }
    const end = eol ? e + 1 : e;
    for (let k = 0; k < dirs.length; k++) {
      const d = dirs[k]!;
      const inst = d.cfg.inst;
      let sel = true;
      let err = false;
      for (let i = 0; i < inst.length; i++) {
        const { op, pat } = inst[i]!;
        if (!pmatch(pat, h, hs, hs + hl)) continue;
        if (op === 0x2b) sel = true; else if (op === 0x2d) sel = false;
        else if (op === 0x65) err = true; else err = false;
      }
      if (err) errOut.push(shortLine(d, h, hs, hl, long));
      d.cont = sel && !d.cfg.udponly;
      if (!sel) continue;
      const u = d.cfg.udp;
      if (u) {
        const msg = shortLine(d, h, hs, hl, long);
        env.udp(msg, u.port, u.host, (e2) => {
          if (e2) d.note(`warning: failure sending through udp: ${msg.subarray(0, msg.length - 1).toString('latin1')}`);
        });
      }
      if (d.cfg.udponly) continue;
      if (h === src) d.put(sb, true, src, s, end, null, 0, 0, eol);
      else d.put(sb, true, h, hs, hs + hl, src, s + hl, end, eol);
    }
  };

  /** The rest of a line whose first piece was already written. */
  const tail = (src: Buffer, s: number, e: number, eol: boolean): void => {
    const end = eol ? e + 1 : e;
    for (const d of dirs) if (d.cont) d.put(null, false, src, s, end, null, 0, 0, eol);
  };

  let carry: Buffer | null = null;
  let continuing = false;

  /** Every complete line of src from `from`; returns where the unfinished one starts. */
  const lines = (src: Buffer, from: number): number => {
    let s = from;
    for (;;) {
      const e = src.indexOf(NEWLINE, s);
      if (e < 0) return s;
      if (continuing) {
        tail(src, s, e, true);
        continuing = false;
      } else line(src, s, e, true);
      s = e + 1;
    }
  };

  const leftover = (src: Buffer, s: number): void => {
    if (s >= src.length) return;
    if (continuing) tail(src, s, src.length, false);
    else if (src.length - s >= CAP) {
      line(src, s, src.length, false);
      continuing = true;
    } else carry = Buffer.from(src.subarray(s));
  };

  const onData = (chunk: Buffer): void => {
    if (stamp) sb = stamp.set(now());
    let from = 0;
    if (carry) {
      const k = chunk.indexOf(NEWLINE);
      const c: Buffer = carry;
      carry = null;
      if (k < 0) {
        leftover(Buffer.concat([c, chunk]), 0);
        pump();
        return;
      }
      const joined = Buffer.concat([c, chunk.subarray(0, k + 1)]);
      lines(joined, 0);
      from = k + 1;
    }
    leftover(chunk, lines(chunk, from));
    pump();
  };

  let exiting = false;
  let held = false;
  let reopenPending = false;

  /** End of input or TERM: a last line without newline is kept, with one. */
  const finishInput = (): void => {
    if (exiting) return;
    exiting = true;
    if (input) input.stop();
    if (stamp) sb = stamp.set(now());
    if (carry) {
      const c = Buffer.concat([carry, NL]);
      carry = null;
      lines(c, 0);
    } else if (continuing) {
      tail(NL, 0, 0, true);
      continuing = false;
    }
    pump();
  };

  function flushErr(): void {
    if (errOut.length === 0) return;
    const b = errOut.length === 1 ? errOut[0]! : Buffer.concat(errOut);
    errOut = [];
    try { fs.writeSync(2, b); } catch { /* stderr gone */ }
  }

  /** Write out what is queued; go on reading, reopen, or exit when nothing blocks. */
  function pump(): void {
    if (dead) return;
    flushErr();
    let ok = true;
    let hard = false;
    for (const d of dirs) {
      if (d.drain()) continue;
      ok = false;
      if (!d.waitingSync) hard = true;
    }
    if (!ok) {
      if (hard) input?.pause();
      else if (!exiting && !reopenPending && !held) input?.resume();
      return;
    }
    input?.written();
    if (reopenPending) {
      reopenPending = false;
      const old = dirs;
      for (const d of old) d.close();
      openAll(old);
      if (dead) return;
    }
    if (exiting) {
      if (dirs.some((d) => d.proc !== null) || udpPending > 0) return;
      for (const d of dirs) d.close();
      dead = true;
      io.exit(0);
      return;
    }
    if (!held) input?.resume();
  }

  const nothing = (): void => {};
  if (dead) return { hup: nothing, alarm: nothing, term: nothing, stop: nothing, cont: nothing };
  input = io.input(onData, finishInput, opt.buflen);
  return {
    hup: () => {
      reopenPending = true;
      pump();
    },
    alarm: () => {
      for (const d of dirs) d.forceRotate();
      pump();
    },
    term: finishInput,
    stop: () => {
      held = true;
      input?.pause();
    },
    cont: () => {
      held = false;
      pump();
    },
  };
}
