// runit-init (man runit-init): as process no 1 it becomes runit (an exec:
// the same pid); otherwise `init 0` asks process 1 to halt, `init 6` to
// reboot, through the stopit and reboot files and a CONT signal.
// Outside process 1 this loads no libc binding: it is a quick CLI.
import fs from 'node:fs';
import path from 'node:path';
import { calledAs } from '../sys/argv0.js';
import { why } from '../sys/errors.js';
import { REBOOT, STOPIT } from './paths.js';
import { VERSION } from './version.js';

function die(text: string, err: unknown): never {
  try { fs.writeSync(2, `init: fatal: ${text}: ${why(err)}\n`); } catch { /* no stderr */ }
  process.exit(111);
}

function usage(prog: string): never {
  try { fs.writeSync(2, `usage: ${prog} 0|6\n\n`); } catch { /* no stderr */ }
  process.exit(0); // as runit-init: usage is not an error
}

function create(file: string): void {
  try {
    fs.closeSync(fs.openSync(file, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_TRUNC | fs.constants.O_NONBLOCK, 0o644));
  } catch (e) { die(`unable to create ${file}`, e); }
}

function chmod(file: string, mode: number, missingOk = false): void {
  try { fs.chmodSync(file, mode); } catch (e) {
    if (!(missingOk && (e as NodeJS.ErrnoException).code === 'ENOENT')) die(`unable to chmod ${file}`, e);
  }
}

export async function telinit(argv: string[]): Promise<void> {
  const prog = argv[1] ?? 'init';
  if (process.pid === 1) {
    const { execve } = await import('../sys/libc.js');
    const { nodeArgv } = await import('./main.js');
    try {
      const runit = path.join(path.dirname(fs.realpathSync(prog)), 'runit');
      execve(process.execPath, [...nodeArgv(runit), ...argv.slice(2)], process.env);
    } catch (e) { die('unable to start runit', e); }
  }
  const arg = argv[2];
  const name = calledAs(); // runit-init's usage names it as called (its argv[0])
  if (!arg) usage(name);
  switch (arg[0]) {
    case '0': // halt: stopit executable, reboot not
      create(STOPIT);
      chmod(STOPIT, 0o100);
      chmod(REBOOT, 0, true);
      break;
    case '6': // reboot: both executable
      create(STOPIT);
      chmod(STOPIT, 0o100);
      create(REBOOT);
      chmod(REBOOT, 0o100);
      break;
    case '-':
      if (arg[1] === 'V') try { fs.writeSync(2, `$Id: ${VERSION} $\n`); } catch { /* no stderr */ }
      usage(name);
    default:
      usage(name);
  }
  try { process.kill(1, 'SIGCONT'); } catch (e) { die('unable to signal init', e); }
}
