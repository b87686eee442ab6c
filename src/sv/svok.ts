// svok service — is a supervisor running for it? Exit 0 if one is, 100 if
// none is, 111 (with a message) when the directory cannot be entered. BusyBox
// and daemontools agree on the codes; the messages are daemontools' words.
// The service is found as sv finds it ($SVDIR for a bare name).
import fs from 'node:fs';
import { why } from '../sys/errors.js';
import { running } from '../supervise/control.js';
import { Sv, svdir } from './client.js';

function say(text: string): void {
  try { fs.writeSync(2, `svok: ${text}\n`); } catch { /* no stderr */ }
}

export function main(argv: string[]): void {
  const name = argv[2];
  if (name === undefined) {
    say('usage: svok dir');
    process.exit(100);
  }
  const dir = new Sv(false, svdir()).dirOf(name);
  try {
    // an empty name is no directory (chdir("") fails), not $SVDIR itself
    if (name === '') throw Object.assign(new Error(), { code: 'ENOENT' });
    if (!fs.statSync(dir).isDirectory()) throw Object.assign(new Error(), { code: 'ENOTDIR' });
  } catch (e) {
    say(`fatal: unable to chdir to ${name}: ${why(e)}`);
    process.exit(111);
  }
  try {
    process.exit(running(`${dir}/supervise`) ? 0 : 100);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') process.exit(100);
    say(`fatal: unable to open ${name}/supervise/ok: ${why(e)}`);
    process.exit(111);
  }
}
