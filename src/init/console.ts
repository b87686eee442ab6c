// runit's console: its own fds 0, 1 and 2 are /dev/console (write-only, as
// runit opens it), stage 1 gets it read-write as its standard input, and every
// message goes to a console opened anew (runit "regets stderr" each time it
// wakes: a console that was missing or replaced at boot is found later).
import fs from 'node:fs';
import { dup2, setCloexec } from '../sys/libc.js';
import { why } from '../sys/errors.js';
import { CONSOLE } from './paths.js';

const O_WRONLY = fs.constants.O_WRONLY;
const O_NONBLOCK = fs.constants.O_NONBLOCK;

function openWrite(): number | null {
  try { return fs.openSync(CONSOLE, O_WRONLY | O_NONBLOCK); } catch { return null; }
}

/** At boot: fds 0, 1, 2 become the console, and are inherited by every stage. */
export function takeConsole(): void {
  const fd = openWrite();
  for (const to of [0, 1, 2]) {
    try {
      if (fd !== null) dup2(fd, to);
      setCloexec(to, false); // Node marks 0-2 close-on-exec; the stages need them
    } catch { /* a closed fd stays closed */ }
  }
  if (fd !== null && fd > 2) fs.closeSync(fd);
}

/** fd 2 is the console opened now, if it can be opened; else it stays what it was. */
function reget(): void {
  const fd = openWrite();
  if (fd === null) return;
  try { dup2(fd, 2); } catch { /* keep the old one */ }
  fs.closeSync(fd);
}

function emit(line: string): void {
  reget();
  try { fs.writeSync(2, line + '\n'); } catch { /* no console: nothing to tell */ }
}

/** `- runit: text` */
export function info(text: string): void { emit(`- runit: ${text}`); }
/** `- runit: warning: text[: why]` */
export function warning(text: string, err?: unknown): void {
  emit(`- runit: warning: ${text}${err === undefined ? '' : ': ' + why(err)}`);
}
/** `- runit: fatal: text[: why]` (runit goes on after some of these, as it does) */
export function fatal(text: string, err?: unknown): void {
  emit(`- runit: fatal: ${text}${err === undefined ? '' : ': ' + why(err)}`);
}

/**
 * The console read-write for stage 1's standard input ("full control of
 * /dev/console"), or null after runit's warning. runit's stage 1 also asks
 * for it as its controlling terminal (TIOCSCTTY), which Linux refuses to a
 * process that is not a session leader, as stage 1 is not: so we do not ask.
 */
export function consoleForStage1(): number | null {
  try {
    return fs.openSync(CONSOLE, 'r+');
  } catch (e) {
    warning('unable to open /dev/console', e);
    return null;
  }
}
