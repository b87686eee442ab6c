// runsvdir's `log` argument: a readproctitle log (man runsvdir). The argument's
// bytes in the process title are the log: its first five stay, the rest is a
// window on the newest bytes written, which `ps` shows. A dot every fifteen
// minutes (and one at start) pushes old messages out.
import { setTitle } from '../sys/title.js';

const KEEP = 5;
const DOT_EVERY = 15 * 60 * 1000;

export class TitleLog {
  private ring: Buffer;

  /** `args` is the whole command line; its last word is the log. */
  constructor(private readonly args: string[], private readonly comm: string) {
    this.ring = Buffer.from(args[args.length - 1]!, 'latin1');
    this.write(Buffer.from('.'));
    setInterval(() => this.write(Buffer.from('.')), DOT_EVERY).unref();
  }

  write(bytes: Buffer): void {
    const room = this.ring.length - KEEP;
    if (room <= 0) return;
    const tail = this.ring.subarray(KEEP);
    if (bytes.length >= room) {
      bytes.copy(tail, 0, bytes.length - room);
    } else {
      tail.copy(tail, 0, bytes.length);
      bytes.copy(tail, room - bytes.length);
    }
    // The title is set as UTF-8 and ends at a NUL: keep one byte per byte.
    const text = this.ring.toString('latin1').replace(/\0/g, ' ').replace(/[^\x01-\x7f]/g, '?');
    setTitle([...this.args.slice(0, -1), text], this.comm);
  }
}
