// The supervisor side of supervise/: the directory, its lock, and the two FIFOs
// it holds open for its whole life.
import fs from 'node:fs';
import path from 'node:path';
import { flock, LOCK_EX, LOCK_NB, mkfifo, openat } from '../sys/libc.js';
import { cancel, whenReadable } from '../sys/readable.js';

const { O_RDONLY, O_RDWR, O_WRONLY, O_NONBLOCK, O_CREAT, O_APPEND } = fs.constants;

export class Step extends Error {
  /** `cause` undefined: the message stands alone (no `: why`). */
  constructor(readonly what: string, readonly cause?: unknown) { super(what); }
}

/**
 * mkdir supervise/ 0700 unless it exists. A symlink to a directory is fine; a
 * dangling one gets its target created, as runsv's mkdir through it does.
 * True when the directory was made now (it is empty).
 */
export function makeDir(dir: string, name: string): boolean {
  try {
    fs.mkdirSync(dir, { mode: 0o700 });
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw new Step(`unable to mkdir ${name}`, e);
    try {
      if (fs.lstatSync(dir).isSymbolicLink() && !fs.existsSync(dir)) {
        fs.mkdirSync(path.resolve(path.dirname(dir), fs.readlinkSync(dir)), { mode: 0o700 });
      }
    } catch (e2) {
      throw new Step(`unable to mkdir ${name}`, e2);
    }
  }
  return false;
}

/** A path inside a directory this process holds open: /proc/self/fd/N/REST. */
const PINNED = /^\/proc\/self\/fd\/(\d+)\/(.+)$/;

/**
 * open(2), as fs.openSync. A path inside a directory the process holds open
 * (the host's /proc/self/fd/N/...) is opened relative to N (openat): the same
 * file, without the kernel walking /proc to it (and Node's checks) each time.
 */
export function openPath(file: string, flags: number, mode = 0o666): number {
  const m = PINNED.exec(file);
  return m ? openat(Number(m[1]), m[2]!, flags, mode) : fs.openSync(file, flags, mode);
}

/** Open and exclusively lock supervise/lock; returns the fd, held for life. */
export function lock(dir: string, name: string): number {
  let fd: number;
  try {
    fd = openPath(`${dir}/lock`, O_WRONLY | O_NONBLOCK | O_APPEND | O_CREAT, 0o600);
  } catch (e) {
    throw new Step(`unable to open ${name}/lock`, e);
  }
  try {
    flock(fd, LOCK_EX | LOCK_NB);
  } catch (e) {
    fs.closeSync(fd);
    throw new Step(`unable to lock ${name}/lock`, e);
  }
  return fd;
}

function fifo(file: string, label: string): void {
  try {
    mkfifo(file, 0o600);
  } catch (e) {
    if ((e as { code?: string }).code !== 'EEXIST') throw new Step(`unable to create ${label}`, e);
    let isFifo = false;
    try { isFifo = fs.statSync(file).isFIFO(); } catch { /* reported below */ }
    if (!isFifo) throw new Step(`${label} exists but is not a fifo`);
  }
}

export interface Fifos { controlFd: number; okFd: number }

/**
 * Create (if needed) `control` and `ok`, and open `control`: read-write so it
 * never reports EOF, and read when it can be (sys/readable.ts: one epoll set
 * for every FIFO of a host, where a net.Socket each would cost a stream and
 * five system calls per service). `onBytes` gets what was written, as
 * latin1. `ok` is opened by openOk, once the status files are written.
 */
export function openFifos(dir: string, name: string, onBytes: (bytes: string) => void): Fifos {
  fifo(`${dir}/control`, `${name}/control`);
  fifo(`${dir}/ok`, `${name}/ok`);
  let controlFd: number;
  try {
    controlFd = openPath(`${dir}/control`, O_RDWR | O_NONBLOCK);
  } catch (e) {
    throw new Step(`unable to open ${name}/control`, e);
  }
  const f: Fifos = { controlFd, okFd: -1 };
  const wait = (): void => whenReadable(controlFd, () => {
    if (f.controlFd !== controlFd) return; // closed meanwhile
    let open = true;
    try {
      open = readControl(controlFd, onBytes);
    } finally {
      // waited for again even when a command threw, unless it closed the FIFO
      if (open && f.controlFd === controlFd) wait();
    }
  });
  wait();
  return f;
}

/** Read one command buffer's worth (read together, as runsv does). */
const chunk = Buffer.alloc(4096);

/** What `fd` holds now, to `onBytes`: false if it cannot be read any more. */
function readControl(fd: number, onBytes: (bytes: string) => void): boolean {
  for (;;) {
    let n: number;
    try {
      n = fs.readSync(fd, chunk, 0, chunk.length, null);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      return code === 'EAGAIN' || code === 'EINTR'; // all read (a FIFO opened O_RDWR has no peer to lose)
    }
    if (n > 0) onBytes(chunk.toString('latin1', 0, n));
    if (n < chunk.length) return true; // the rest, if any, wakes the next wait at once
  }
}

/**
 * Open `ok` for reading: from now on clients (sv, svok) see a supervisor.
 * Done after the first status is written, so that one who sees it can read it.
 */
export function openOk(f: Fifos, dir: string, name: string): void {
  try {
    f.okFd = openPath(`${dir}/ok`, O_RDONLY | O_NONBLOCK);
  } catch (e) {
    throw new Step(`unable to open ${name}/ok`, e);
  }
}

export function closeFifos(f: Fifos): void {
  if (f.controlFd >= 0) {
    cancel(f.controlFd); // before the number can be another file's
    try { fs.closeSync(f.controlFd); } catch { /* already gone */ }
    f.controlFd = -1;
  }
  if (f.okFd >= 0) try { fs.closeSync(f.okFd); } catch { /* already gone */ }
}
