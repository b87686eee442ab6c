// What `ps`, `pidof` and `pgrep` see of a program: its command line (the
// process title) and its process name (/proc/PID/comm, prctl's PR_SET_NAME).
// Node's process.title writes the title over the original argv (libuv, as
// long as the argv strings were) and sets the name to its first 15 bytes;
// the name is then set on its own, to the program's, so that `pidof runsv`
// and `pgrep -x runsvdir` find ours as they find runit's.
import fs from 'node:fs';

export function setTitle(args: string[], name: string): void {
  try {
    process.title = args.join(' ');
  } catch { /* no title: cosmetic only */ }
  try {
    fs.writeFileSync('/proc/self/comm', name);
  } catch { /* no /proc */ }
}
