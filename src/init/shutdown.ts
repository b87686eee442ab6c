// The end of runit, once stage 3 is over (as runit 2.1.2 does it, observed):
// every process left gets KILL, then, unless /etc/runit/nosync exists, sync;
// then reboot(2): a reboot when /etc/runit/reboot is executable by its
// owner, else a power-off (and a halt if that returns). A container's runit
// exits with a status instead (mode.ts).
import fs from 'node:fs';
import { kill, RB, reboot, sync } from '../sys/libc.js';
import { info, warning } from './console.js';
import { NOSYNC, REBOOT } from './paths.js';

/** The file exists and its owner may execute it (runit's test for stopit, reboot, ctrlaltdel). */
export function ownerExecutable(file: string): boolean {
  try { return (fs.statSync(file).mode & 0o100) !== 0; } catch { return false; }
}

function exists(file: string): boolean {
  try { fs.statSync(file); return true; } catch { return false; }
}

function killAll(): void {
  info('sending KILL signal to all processes...');
  kill(-1, 9);
}

function syncUnlessNosync(): void {
  if (!exists(NOSYNC)) sync();
}

/** On a machine: the system goes down. Returns only if reboot(2) failed (then runit stays, reaping). */
export function halt(): void {
  killAll();
  const cmds: [string, number][] = ownerExecutable(REBOOT)
    ? [['system reboot.', RB.AUTOBOOT]]
    : [['power off...', RB.POWER_OFF], ['system halt.', RB.HALT_SYSTEM]];
  for (const [text, cmd] of cmds) {
    info(text);
    syncUnlessNosync();
    try { reboot(cmd); } catch (e) { warning('unable to reboot', e); }
  }
}

/** In a container: every process left gets KILL, then runit exits with `status`. */
export function leave(status: number): never {
  killAll();
  syncUnlessNosync();
  info(`exit ${status}.`);
  process.exit(status);
}
