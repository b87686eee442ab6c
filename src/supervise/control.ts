// The client side of supervise/: is a supervisor there (`ok`), and sending it
// command bytes (`control`). No koffi here: clients must start fast.
import fs from 'node:fs';

const { O_WRONLY, O_NONBLOCK } = fs.constants;

/**
 * Is a supervisor holding `supervise/ok` open? Opening a FIFO write-only and
 * non-blocking fails with ENXIO when nobody reads it. Other errors are thrown.
 */
export function running(superviseDir: string): boolean {
  let fd: number;
  try {
    fd = fs.openSync(`${superviseDir}/ok`, O_WRONLY | O_NONBLOCK);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENXIO') return false;
    throw e;
  }
  fs.closeSync(fd);
  return true;
}

/** Write command bytes to `supervise/control`; throws (ENXIO when nobody reads it). */
export function send(superviseDir: string, bytes: string): void {
  const fd = fs.openSync(`${superviseDir}/control`, O_WRONLY | O_NONBLOCK);
  try {
    fs.writeSync(fd, bytes);
  } finally {
    fs.closeSync(fd);
  }
}
