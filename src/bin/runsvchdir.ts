// runsvchdir dir — switch the services directory runsvdir runs (man runsvchdir).
// In /etc/runit/runsvdir (or $RUNSVDIR, as runit 2.3.0): `current` becomes a
// symlink to dir, made as `current.new` and renamed over it, and the old
// `current` is kept as `previous`.
import fs from 'node:fs';
import { calledAs } from '../sys/argv0.js';
import { fatal, setProgram } from '../sys/say.js';

// runit's runsvchdir names itself as called in its usage and its fatal messages.
setProgram(calledAs());
const dir = process.argv[2];
if (dir === undefined) {
  // runit's words and exit code for this one: usage, an empty line, exit 1.
  try { fs.writeSync(2, `usage: ${calledAs()} dir\n\n`); } catch { /* no stderr */ }
  process.exit(1);
}
if (dir.startsWith('.')) fatal(111, [dir, ': must not start with a dot.']);

const home = process.env['RUNSVDIR'] || '/etc/runit/runsvdir';
try {
  process.chdir(home);
} catch (e) {
  fatal(111, ['unable to chdir: ', home], e);
}

let next: fs.Stats;
try {
  next = fs.statSync(dir);
} catch (e) {
  fatal(111, [dir], e);
}
// runit prints this one without ": " between the name and the text.
if (!next.isDirectory()) fatal(111, [dir, 'not a directory.']);

let now: fs.Stats;
try {
  now = fs.statSync('current');
} catch (e) {
  fatal(111, ['unable to stat: current'], e);
}
if (now.ino === next.ino && now.dev === next.dev) {
  fs.writeSync(1, `runsvchdir: ${dir}: current.\n`);
  process.exit(0);
}

try {
  fs.unlinkSync('current.new');
} catch (e) {
  if ((e as NodeJS.ErrnoException).code !== 'ENOENT') fatal(111, ['unable to unlink: current.new'], e);
}
try {
  fs.symlinkSync(dir, 'current.new');
} catch (e) {
  fatal(111, ['unable to create: current.new -> ', dir], e);
}
try {
  fs.unlinkSync('previous');
} catch (e) {
  if ((e as NodeJS.ErrnoException).code !== 'ENOENT') fatal(111, ['unable to unlink: previous'], e);
}
try {
  fs.renameSync('current', 'previous');
} catch (e) {
  fatal(111, ['unable to copy: current to previous'], e);
}
try {
  fs.renameSync('current.new', 'current');
} catch (e) {
  // Leave things as they were rather than without a `current`.
  try {
    fs.renameSync('previous', 'current');
  } catch (e2) {
    fatal(111, ['unable to move previous back to current'], e2);
  }
  fatal(111, ['unable to move: current.new to current'], e);
}
fs.writeSync(1, `runsvchdir: ${dir}: now current.\n`);
