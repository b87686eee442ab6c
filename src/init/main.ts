// runit — process no 1 (man runit): stages /etc/runit/1, 2 and 3.
import { dropKoffiZeroPages } from '../memory/zeropages.js';
import { defaultSignal, execve, reboot, RB, setsid } from '../sys/libc.js';
import { NODE_FLAGS } from '../runsvdir/link.js';
import { fatal, info, takeConsole, warning } from './console.js';
import { inContainer } from './mode.js';
import { Runit } from './stages.js';
import { VERSION } from './version.js';


/** The Node command line runit runs with: the runsvdir processes' flags (small heap, one helper thread). */
export function nodeArgv(script: string): string[] {
  return [process.argv0, ...NODE_FLAGS, script];
}

export function main(): void {
  if (process.pid !== 1) {
    try { process.stderr.write('- runit: fatal: must be run as process no 1.\n'); } catch { /* no stderr */ }
    process.exitCode = 111;
    return;
  }
  // Started by the kernel as a plain `node`: Node again in its own place
  // (same pid, same fds) with the flags V8 reads only at start-up.
  if (!process.execArgv.includes('--no-memory-reducer')) {
    try { execve(process.execPath, nodeArgv(process.argv[1]!), process.env); } catch { /* runs on as it is */ }
  }
  try { setsid(); } catch { /* already a session leader */ }
  // Process 1 gets only the signals it has a handler for: Node's SIGUSR1
  // handler (its debugger) would be one.
  defaultSignal(10);
  takeConsole();
  // Process 1 must not die of a bug of ours (on a machine the kernel would
  // panic): say so on the console and go on.
  process.on('uncaughtException', (e) => warning('unexpected error', e));
  try { reboot(RB.DISABLE_CAD); } catch { /* not in a PID namespace: ctrl-alt-del is the kernel's */ }
  info(`$Id: ${VERSION} $: booting.`);
  try {
    new Runit({ container: inContainer() }).boot();
  } catch (e) {
    fatal('unable to boot', e);
  }
  dropKoffiZeroPages();
}
