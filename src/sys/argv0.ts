// The name a program was called by, as runit's programs print their argv[0]
// (`usage: /usr/bin/svlogd ...`). Started by its #! line, our program sees
// the path the kernel was given as node's first argument: the name as typed
// when it holds a slash; a bare name found in $PATH arrives as DIR/NAME
// (execvp's doing), which is taken back to NAME. Node makes process.argv[1]
// absolute, so the path is read from /proc/self/cmdline, once, before any
// process title overwrites it.
import fs from 'node:fs';

let script: string | null = null;
let called: string | null = null;

/** The script's path as the kernel was given it (to start the program again the same way). */
export function scriptPath(): string {
  if (script !== null) return script;
  script = process.argv[1] ?? '';
  try {
    // node, its own options, then the script as called
    const words = fs.readFileSync('/proc/self/cmdline', 'latin1').split('\0');
    script = words[1 + process.execArgv.length] || script;
  } catch { /* no /proc: the absolute path */ }
  return script;
}

/** The program's name as called: what runit's programs print as their argv[0]. */
export function calledAs(): string {
  if (called !== null) return called;
  const p = scriptPath();
  called = p;
  const base = baseName(p);
  for (const d of (process.env['PATH'] ?? '').split(':')) {
    if (d === '') continue;
    const candidate = `${d}/${base}`;
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      if (!fs.statSync(candidate).isFile()) continue;
    } catch {
      continue;
    }
    if (candidate === p) called = base; // the first match is what execvp ran
    break;
  }
  return called;
}

/** The last component of a path, as runit's programs name themselves in some messages. */
export function baseName(p: string): string {
  return p.slice(p.lastIndexOf('/') + 1);
}
