// notify-socket: systemd's readiness protocol for daemons that speak only it.
// With an (empty) file `notify-socket` in the service directory, runsv binds a
// datagram Unix socket in the abstract namespace for each start of ./run and
// gives its name in $NOTIFY_SOCKET (`@runit-ts/PID/N`); a datagram holding the
// line READY=1, from ./run or a process under it (the kernel's SO_PASSCRED
// says who sent it), makes the service ready, as a newline on
// notification-fd does (readiness.ts). Other lines (STATUS=, WATCHDOG=1) are
// taken and ignored. The socket raises SIGIO when a datagram arrives: Node
// cannot wait on a datagram Unix socket itself.
import fs from 'node:fs';
import { notifySocket, receive } from '../sys/libc.js';

interface Listener {
  fd: number; main: () => number; onReady: () => void; fired: boolean;
  /** Senders of READY=1 before ./run's pid was known. */
  early: number[];
}

const open = new Set<Listener>();
let armed = false;
let count = 0;

export interface NotifySocket {
  /** The value of $NOTIFY_SOCKET for ./run. */
  address: string;
  /** ./run's pid is known now: a READY=1 sent before counts if it came from under it. */
  known(): void;
  close(): void;
}

/** The parent of `pid` (from /proc), 0 when it cannot be read. */
function parentOf(pid: number): number {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'latin1');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) || 0;
  } catch {
    return 0;
  }
}

/** Is `pid` the service's ./run or a process under it? */
function fromService(pid: number, main: number): boolean {
  for (let p = pid, i = 0; p > 1 && i < 64; p = parentOf(p), i++) if (p === main) return true;
  return false;
}

function drain(): void {
  for (const l of open) {
    for (let m = receive(l.fd); m; m = receive(l.fd)) {
      if (l.fired || !m.pid || !m.text.split('\n').includes('READY=1')) continue;
      const main = l.main();
      if (main === 0) l.early.push(m.pid); // ./run's pid not known yet: see known()
      else if (fromService(m.pid, main)) fire(l);
    }
  }
}

function fire(l: Listener): void {
  l.fired = true;
  l.onReady();
}

/** A socket for one run of ./run; `main` gives ./run's pid once it is known. Throws a SysError. */
export function listen(main: () => number, onReady: () => void): NotifySocket {
  if (!armed) {
    armed = true;
    process.on('SIGIO', drain);
  }
  const name = `runit-ts/${process.pid}/${++count}`;
  const l: Listener = { fd: notifySocket(name), main, onReady, fired: false, early: [] };
  open.add(l);
  return {
    address: `@${name}`,
    known: () => {
      const pid = main();
      if (!l.fired && pid && l.early.some((p) => fromService(p, pid))) fire(l);
      l.early = [];
    },
    close: () => {
      if (!open.delete(l)) return;
      try { fs.closeSync(l.fd); } catch { /* closed */ }
    },
  };
}
