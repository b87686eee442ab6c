// utmpset [-w] line: log a line out of utmp, and with -w out of wtmp too (man utmpset).
import { writeSync } from 'node:fs';
import { baseName, calledAs } from '../sys/argv0.js';
import { GetoptError, getopt } from '../sys/getopt.js';
import { why } from '../sys/errors.js';
import { setProgram } from '../sys/say.js';
import { utmpLogout, UtmpError, wtmpLogout } from '../utmp/logout.js';

setProgram('utmpset');

function say(line: string): void {
  try { writeSync(2, line + '\n'); } catch { /* stderr gone */ }
}

/** Wrong usage exits 1 here, not 100 (man utmpset); the usage names it as called. */
function usage(): never {
  say(`usage: ${calledAs()} [-w] line\n`);
  process.exit(1);
}

let opts;
try {
  opts = getopt(process.argv.slice(2), 'wV', baseName(calledAs()));
} catch (e) {
  if (e instanceof GetoptError) usage();
  throw e;
}
let wtmp = false;
for (const { opt } of opts.opts) {
  if (opt === 'w') wtmp = true;
  if (opt === 'V') {
    say('$Id: runit-ts utmpset 0.1.0 $');
    usage();
  }
}
if (opts.rest.length === 0) usage();
const raw = opts.rest[0]!;
const name = Buffer.from(raw);

function fail(e: unknown, what: string): never {
  if (e instanceof UtmpError && e.cause !== undefined) say(`utmpset: fatal: ${e.what}: ${why(e.cause)}`);
  else say(`utmpset: warning: unable to logout line ${raw} in ${what}${e instanceof UtmpError ? ': ' + e.what : ''}`);
  process.exit(111);
}

try {
  if (!utmpLogout(name)) {
    say(`utmpset: warning: unable to logout line ${raw} in utmp: no such entry`);
    process.exit(111);
  }
} catch (e) {
  fail(e, 'utmp');
}
if (wtmp) {
  try { wtmpLogout(name); } catch (e) { fail(e, 'wtmp'); }
}
process.exit(0);
