// runsv DIR — supervise one service (man runsv).
import path from 'node:path';
import { raiseNofile } from '../sys/libc.js';
import { why } from '../sys/errors.js';
import { Step } from '../supervise/files.js';
import { Service } from '../supervise/service.js';
import { writeSync } from 'node:fs';

const arg = process.argv[2];
if (process.argv.length !== 3 || !arg) {
  writeSync(2, 'usage: runsv dir\n');
  process.exit(100);
}
const label = `runsv ${arg}`;
const say = (kind: string, text: string, err?: unknown): void => {
  try { writeSync(2, `${label}: ${kind}: ${text}${err === undefined ? '' : ': ' + why(err)}\n`); } catch { /* no stderr */ }
};

try { raiseNofile(); } catch { /* keep the limit we have */ }
const svc = new Service(path.resolve(arg), { label, report: say, onExit: () => process.exit(0) });
try {
  svc.start();
} catch (e) {
  if (e instanceof Step) { say('fatal', e.what, e.cause); process.exit(111); }
  throw e;
}
process.on('SIGTERM', () => svc.exit());
