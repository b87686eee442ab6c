// runsv DIR — supervise one service (man runsv).
import { writeSync } from 'node:fs';
import path from 'node:path';
import { dropKoffiZeroPages } from '../memory/zeropages.js';
import { defaultSignal } from '../sys/libc.js';
import { calledAs } from '../sys/argv0.js';
import { why } from '../sys/errors.js';
import { setTitle } from '../sys/title.js';
import { Step } from '../supervise/files.js';
import { Service } from '../supervise/service.js';

const arg = process.argv[2];
if (process.argv.length !== 3 || !arg) {
  writeSync(2, `usage: ${calledAs()} dir\n\n`);
  process.exit(1);
}
const label = `runsv ${arg}`;
// `ps` shows `runsv DIR` (as called), and `pidof runsv` finds it, as with runit's
setTitle([calledAs(), arg], 'runsv');
const say = (kind: string, text: string, err?: unknown): void => {
  try { writeSync(2, `${label}: ${kind}: ${text}${err === undefined ? '' : ': ' + why(err)}\n`); } catch { /* no stderr */ }
};

defaultSignal(10); // SIGUSR1 kills runsv, as it kills runit's; Node would open a debugger
dropKoffiZeroPages();
const dir = path.resolve(arg);
const svc = new Service(dir, { label, report: say, onExit: () => process.exit(0) });
// TERM is handled from the first moment a client can see the supervisor
process.on('SIGTERM', () => svc.exit());
try {
  svc.start();
} catch (e) {
  if (e instanceof Step) { say('fatal', e.what, e.cause); process.exit(111); }
  throw e;
}
try { process.chdir(dir); } catch { /* runsv lives in its service directory when it can */ }
