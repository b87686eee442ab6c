// Standard input as a pausable stream of chunks.
//
// A pipe (what runsv gives a log service) is not read but copied (tee(2)),
// and only what is written out is then taken from it (splice to /dev/null):
// svlogd killed at any moment loses nothing, the next one finds in the pipe
// every line not yet in the log (and writes again the few it had written
// but not yet taken). A socket is read through epoll (net.Socket: never
// blocks, signals keep working); anything else (a file, a tty, /dev/null)
// with fs.read in large chunks.
import fs from 'node:fs';
import { pipe, pipeSize, setPipeSize, spliceAll, tee } from '../sys/libc.js';
import { cancel, whenReadable } from '../sys/readable.js';

export interface Input {
  pause(): void;
  resume(): void;
  /** Everything given to onData so far is written out (or was dropped by choice). */
  written(): void;
  /** Stop reading for good (TERM). */
  stop(): void;
}

/**
 * Rounds of at least this much: a round of runit's 1024 bytes (-b's default)
 * costs five system calls a kilobyte, some 25 % more CPU than reading; 16 KB
 * rounds still some 15 % more time; from 64 KB on, as fast as reading
 * (docs/BENCHMARKS.md). It bounds what a kill may bring twice.
 */
const ROUND_MIN = 1 << 16;
/** A logger's first buffer: it grows (to a round at most) when more comes at once. */
const FIRST_BUFFER = 1 << 14;
/** How long the end of an unfinished line is waited for in the pipe (ms). */
const UNFINISHED_MS = 1000;

/**
 * `round`: the most taken from a pipe at a time (-b, at least ROUND_MIN).
 * `fd`: standard input, or the log pipe a host reads for a log service
 * (closed when the input ends or is stopped; fd 0 never is).
 */
export function openInput(onData: (chunk: Buffer) => void, onEnd: () => void, round: number, fd = 0): Input {
  let st: fs.Stats | null = null;
  try { st = fs.fstatSync(fd); } catch { /* closed: read() reports it */ }
  if (st?.isFIFO()) {
    const t = teeInput(onData, onEnd, round, fd);
    if (t) return t;
  }
  if (st && (st.isFIFO() || st.isSocket())) return socketInput(onData, onEnd, st.isFIFO(), fd);
  return fileInput(onData, onEnd, fd);
}

/** openInput() for `fd` known to be a pipe (a host's log pipe): no fstat to find out. */
export function pipeInput(onData: (chunk: Buffer) => void, onEnd: () => void, round: number, fd: number): Input {
  return teeInput(onData, onEnd, round, fd) ?? socketInput(onData, onEnd, true, fd);
}

/**
 * /dev/null, where what is written out is taken to, and the pipe a round is
 * copied into and read back from at once (so empty between rounds): one of
 * each for every input of the process, kept open. A host runs a thousand
 * loggers: three descriptors fewer each, which every child it starts would
 * copy and close again.
 */
let devNull = -1;
let scratch: { fds: [number, number]; size: number } | null = null;

function scratchPipe(): { fds: [number, number]; size: number } {
  if (!scratch) {
    const fds = pipe();
    try { setPipeSize(fds[1], 1 << 20); } catch { /* over /proc/sys/fs/pipe-max-size: rounds of what it holds */ }
    scratch = { fds, size: pipeSize(fds[1]) };
  }
  return scratch;
}

/** A round was not read back whole: what is left in the pipe must not be taken for the next one. */
function dropScratch(): void {
  for (const f of scratch?.fds ?? []) {
    try { fs.closeSync(f); } catch { /* closed */ }
  }
  scratch = null;
}

/** A pipe copied with tee(2); null if that cannot be set up (then it is read). */
function teeInput(onData: (chunk: Buffer) => void, onEnd: () => void, buflen: number, fd: number): Input | null {
  let round = Math.max(buflen, ROUND_MIN);
  let sink: number;
  try {
    // A larger pipe lets the writer run ahead instead of waiting on each 64 KB.
    try { setPipeSize(fd, 1 << 20); } catch { /* over /proc/sys/fs/pipe-max-size: keep it */ }
    const copy = scratchPipe();
    round = Math.min(round, copy.size);
    if (devNull < 0) devNull = fs.openSync('/dev/null', 'w');
    sink = devNull;
    if (tee(fd, copy.fds[1], 0) < -1) return null; // tee on this fd at all (EINVAL throws)
  } catch {
    return null;
  }
  // allocated on the first round, as large as it needs (up to a round): a
  // logger brought up reads nothing for a while, most then a line at a time,
  // and a host runs a thousand of them (a megabyte each would be a gigabyte
  // of V8's external memory, collected for)
  let buf: Buffer | null = null;
  let closed = false;
  /** Gives back a descriptor not 0 (a host's loggers come and go). */
  const close = (): void => {
    if (closed) return;
    closed = true;
    if (polling) cancel(fd);
    polling = false;
    if (fd !== 0) {
      try { fs.closeSync(fd); } catch { /* closed */ }
    }
  };
  let taken = 0; // given to onData, not yet taken from the pipe
  let paused = false;
  let polling = false;
  let done = false;
  let inRound = false;
  /** Waiting for the end of an unfinished line, for `waited` ms so far. */
  let waiting: NodeJS.Timeout | null = null;
  let waited = 0;

  const next = (): void => {
    if (inRound) return; // called back from onData: the loop below goes on
    inRound = true;
    try { rounds(); } finally { inRound = false; }
  };
  const rounds = (): void => {
    // one round at a time: the next one begins once this one is written and taken
    while (!paused && !done && !polling && !waiting && taken === 0) {
      const copy = scratchPipe().fds;
      let n: number;
      try {
        n = tee(fd, copy[1], round);
      } catch {
        n = 0;
      }
      if (n < 0) {
        // empty: wait until there is something (or the end), with every other input waiting so
        polling = true;
        whenReadable(fd, () => { polling = false; next(); });
        return;
      }
      if (n === 0) {
        done = true;
        close();
        onEnd();
        return;
      }
      if (!buf || buf.length < n) buf = Buffer.allocUnsafe(Math.min(round, Math.max(FIRST_BUFFER, 2 ** Math.ceil(Math.log2(n)))));
      let got = 0;
      try {
        while (got < n) got += fs.readSync(copy[0], buf, got, n - got, null);
      } catch (e) {
        dropScratch();
        throw e;
      }
      // A round is taken up to its last newline: the rest of the line stays
      // in the pipe and comes again, whole, with the next round. A line
      // longer than a round goes in pieces (as runit's, longer than -b).
      // The start of a line the writer leaves unfinished is waited for, then
      // held in memory (and is lost if svlogd is killed before its end).
      const k = buf.lastIndexOf(0x0a, n - 1);
      let use = n;
      if (k >= 0) use = k + 1;
      else if (n < round && waited < UNFINISHED_MS) {
        const ms = Math.min(Math.max(1, waited), UNFINISHED_MS - waited);
        waiting = setTimeout(() => { waiting = null; waited += ms; next(); }, ms);
        return;
      }
      waited = 0;
      taken = use;
      onData(buf.subarray(0, use));
    }
  };
  setImmediate(next);
  return {
    pause: () => { paused = true; },
    resume: () => { paused = false; next(); },
    written: () => {
      if (taken === 0) return;
      const n = taken;
      taken = 0;
      try { spliceAll(fd, sink, n); } catch { done = true; close(); onEnd(); return; }
      if (done) close(); // stopped: what was written is taken, the rest stays in the pipe
      else next();
    },
    stop: () => {
      done = true;
      if (waiting) clearTimeout(waiting);
      if (taken === 0) close();
    },
  };
}

function socketInput(onData: (chunk: Buffer) => void, onEnd: () => void, fifo: boolean, fd: number): Input {
  // A larger pipe lets the writer run ahead instead of waiting on each 64 KB.
  if (fifo) {
    try { setPipeSize(fd, 1 << 20); } catch { /* over /proc/sys/fs/pipe-max-size: keep it */ }
  }
  // loaded at first use: the runsvdir host has no socket to read at its start
  const { Socket } = process.getBuiltinModule('node:net');
  const s = new Socket({ fd, readable: true, writable: false });
  let ended = false;
  const end = (): void => {
    if (ended) return;
    ended = true;
    onEnd();
  };
  s.on('data', onData);
  s.on('end', end);
  s.on('error', end);
  return {
    pause: () => { s.pause(); },
    resume: () => { if (!ended) s.resume(); },
    written: () => { /* what is read is taken */ },
    stop: () => {
      ended = true;
      s.pause();
      s.removeAllListeners('data');
      s.destroy();
    },
  };
}

function fileInput(onData: (chunk: Buffer) => void, onEnd: () => void, fd: number): Input {
  const buf = Buffer.allocUnsafe(1 << 18);
  let paused = false;
  let busy = false;
  let done = false;
  const next = (): void => {
    if (paused || busy || done) return;
    busy = true;
    fs.read(fd, buf, 0, buf.length, null, (err, n) => {
      busy = false;
      if (done) return;
      if (err && (err.code === 'EAGAIN' || err.code === 'EINTR')) {
        setTimeout(next, 10);
        return;
      }
      if (err || n === 0) {
        done = true;
        onEnd();
        return;
      }
      onData(buf.subarray(0, n)); // consumed (copied) before the next read
      next();
    });
  };
  setImmediate(next);
  return {
    pause: () => { paused = true; },
    resume: () => { paused = false; next(); },
    written: () => { /* what is read is taken */ },
    stop: () => { done = true; },
  };
}
