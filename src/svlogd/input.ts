// Standard input as a pausable stream of chunks. A pipe or socket is read
// through epoll (net.Socket: never blocks, signals keep working); anything else
// (a file, a tty, /dev/null) with fs.read in large chunks.
import fs from 'node:fs';
import net from 'node:net';
import { setPipeSize } from '../sys/libc.js';

export interface Input {
  pause(): void;
  resume(): void;
  /** Stop reading for good (TERM). */
  stop(): void;
}

export function openInput(onData: (chunk: Buffer) => void, onEnd: () => void): Input {
  let st: fs.Stats | null = null;
  try { st = fs.fstatSync(0); } catch { /* closed: read() reports it */ }
  if (st && (st.isFIFO() || st.isSocket())) return socketInput(onData, onEnd, st.isFIFO());
  return fileInput(onData, onEnd);
}

function socketInput(onData: (chunk: Buffer) => void, onEnd: () => void, fifo: boolean): Input {
  // A larger pipe lets the writer run ahead instead of waiting on each 64 KB.
  if (fifo) {
    try { setPipeSize(0, 1 << 20); } catch { /* over /proc/sys/fs/pipe-max-size: keep it */ }
  }
  const s = new net.Socket({ fd: 0, readable: true, writable: false });
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
    stop: () => {
      ended = true;
      s.pause();
      s.removeAllListeners('data');
      s.destroy();
    },
  };
}

function fileInput(onData: (chunk: Buffer) => void, onEnd: () => void): Input {
  const buf = Buffer.allocUnsafe(1 << 18);
  let paused = false;
  let busy = false;
  let done = false;
  const next = (): void => {
    if (paused || busy || done) return;
    busy = true;
    fs.read(0, buf, 0, buf.length, null, (err, n) => {
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
    stop: () => { done = true; },
  };
}
