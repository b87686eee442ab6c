// The supervisor's end of the notification-fd pipe (readiness.ts says what it is for).
import fs from 'node:fs';
import { pipe } from '../sys/libc.js';

/** The pipe for one run of ./run: `writeFd` goes to the child, `done` stops listening. */
export interface Notifier {
  writeFd: number;
  /** Close the parent's write end once the child has its copy. */
  spawned(): void;
  done(): void;
}

/** A pipe whose read end calls `onReady` once, at the first newline. */
export function listen(onReady: () => void): Notifier {
  const [r, w] = pipe();
  let writeFd = w;
  let fired = false;
  // node:net (with node:stream) loaded only by a service that asks for readiness:
  // ~5 ms of start-up the runsvdir host would spend before its first service
  const { Socket } = process.getBuiltinModule('node:net');
  const sock = new Socket({ fd: r, readable: true, writable: false });
  const stop = (): void => { sock.destroy(); };
  sock.on('data', (b: Buffer) => {
    if (fired || !b.includes(0x0a)) return;
    fired = true;
    onReady(); // first: clients wait for supervise/ready, not for this pipe's end
    stop();
  });
  sock.on('error', stop);
  sock.on('end', stop);
  const closeWrite = (): void => {
    if (writeFd < 0) return;
    try { fs.closeSync(writeFd); } catch { /* closed */ }
    writeFd = -1;
  };
  return { writeFd: w, spawned: closeWrite, done: () => { closeWrite(); stop(); } };
}

