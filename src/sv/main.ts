// sv [-v] [-w sec] command service ... (man sv), plus `enable` and `disable`.
// Also the LSB init-script mode when called by another base name.
import fs from 'node:fs';
import path from 'node:path';
import { GetoptError, getopt } from '../sys/getopt.js';
import { why } from '../sys/errors.js';
import { setProgram } from '../sys/say.js';
import { Sv, svdir } from './client.js';
import { JsonReport, processJson as toJson } from './json.js';
import { waitFor } from './wait.js';

/** What a command does: bytes to send, what to wait for, whether to kill on timeout. */
interface Action {
  acts: string; // control bytes sent; '' for status
  wait: boolean; // wait for the effect and report
  kill?: boolean; // on timeout send k (force-*)
  status?: boolean;
  downFile?: 'remove' | 'create'; // enable / disable
}

function parseCommand(cmd: string, verbose: boolean, lsb: boolean): Action | null {
  switch (cmd) {
    case 'start': return { acts: 'u', wait: true };
    case 'stop': return { acts: 'd', wait: true };
    case 'reload': return { acts: 'h', wait: true };
    case 'restart': return { acts: 'tcu', wait: true };
    case 'shutdown': return { acts: 'x', wait: true };
    case 'force-stop': return { acts: 'd', wait: true, kill: true };
    case 'force-reload': return { acts: 'tc', wait: true, kill: true };
    case 'force-restart': return { acts: 'tcu', wait: true, kill: true };
    case 'force-shutdown': return { acts: 'x', wait: true, kill: true };
    case 'try-restart': return { acts: 'tc', wait: true };
    case 'check': return { acts: 'C', wait: true };
    case 'enable': return { acts: 'u', wait: verbose, downFile: 'remove' };
    case 'disable': return { acts: 'd', wait: verbose, downFile: 'create' };
    case 'status': return { acts: '', wait: false, status: true };
  }
  // runit goes by the first letter, and `e` is exit: `sv en` or `sv disab`
  // (enable, disable mistyped) would stop the service or its supervisor.
  if (cmd.length > 1 && ('enable'.startsWith(cmd) || 'disable'.startsWith(cmd))) return null;
  const c = cmd[0];
  switch (c) {
    case 's':
      if (lsb) return null;
      return { acts: '', wait: false, status: true };
    case 'e': return { acts: 'x', wait: verbose };
    // runit's one-letter spellings of the force- actions
    case 'D': return { acts: 'd', wait: true, kill: true };
    case 'T': return { acts: 'tc', wait: true, kill: true };
    case 'X': case 'E': return { acts: 'x', wait: true, kill: true };
    case 'u': case 'd': case 'o': case 'p': case 'c': case 'h': case 'a': case 'i':
    case 'q': case '1': case '2': case 't': case 'k': case 'x':
      return { acts: c, wait: verbose };
  }
  return null;
}

/** Leading decimal digits, as runit's scan_ulong reads them ('5s' is 5, ' 5' is 0). */
function seconds(s: string): number {
  const m = /^\d+/.exec(s);
  return m ? Number(m[0]) : 0;
}

export function main(argv: string[]): void {
  const prog = path.basename(argv[1] ?? 'sv');
  const lsb = prog !== 'sv';
  setProgram(prog);
  const usage = (): never => {
    fs.writeSync(2, lsb ? `usage: ${prog} [-w sec] command\n\n` : 'usage: sv [-v] [-w sec] command service ...\n\n');
    process.exit(lsb ? 2 : 100);
  };
  let verbose = false;
  let waitSec = 7;
  const env = process.env.SVWAIT;
  if (env !== undefined) waitSec = seconds(env);
  let rest: string[];
  let json = false;
  // --json is -j (ours: runit's sv has neither); only among the options, before the command
  const args = argv.slice(2);
  for (let i = 0; i < args.length && args[i]!.startsWith('-') && args[i] !== '--'; i++) {
    if (args[i] === '--json') args[i] = '-j';
  }
  try {
    const r = getopt(args, lsb ? 'w:vV' : 'w:vVj');
    for (const o of r.opts) {
      if (o.opt === 'j') json = true;
      if (o.opt === 'v') verbose = true;
      if (o.opt === 'w') { verbose = true; waitSec = seconds(o.arg!); }
      if (o.opt === 'V') { fs.writeSync(2, '$Id: runit-ts 0.1.0 $\n'); usage(); }
    }
    rest = r.rest;
  } catch (e) {
    if (e instanceof GetoptError) usage();
    throw e;
  }
  const cmd = rest[0];
  if (!cmd) usage();
  const names = lsb ? [prog] : rest.slice(1);
  if (!names.length) usage();
  const action = parseCommand(cmd!, verbose, lsb);
  if (!action) usage();
  const a = action!;

  const sv = new Sv(lsb, svdir());
  const processJson = json && a.status ? toJson : null;
  if (processJson) sv.json = new JsonReport();
  const pending: { name: string; dir: string }[] = [];
  for (const name of names) {
    const dir = sv.dirOf(name);
    if (!sv.chdirOk(name, dir)) continue;
    if (a.status) { if (processJson) sv.jsonStatus(name, dir, processJson); else sv.showStatus(name, dir); continue; }
    if (a.downFile === 'remove') {
      try { fs.unlinkSync(`${dir}/down`); } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') { sv.fail(name, `unable to remove down: ${why(e)}`); continue; }
      }
    }
    if (a.downFile === 'create') {
      try { fs.closeSync(fs.openSync(`${dir}/down`, 'a')); } catch (e) {
        sv.fail(name, `unable to create down: ${why(e)}`); continue;
      }
    }
    if (a.acts === 'C') {
      const s = sv.get(name, dir);
      if (s === null) continue;
      if (s === 'none') { sv.fail(name, 'runsv not running'); continue; }
    } else if (!sv.send(name, dir, a.acts)) continue;
    if (a.wait) pending.push({ name, dir });
  }

  const finish = (): never => {
    sv.json?.print();
    if (lsb) process.exit(a.status ? (sv.failures ? (sv.lsbStatus || 1) : sv.lsbStatus) : (sv.failures ? 1 : 0));
    process.exit(Math.min(sv.failures, 99));
  };
  if (!pending.length) finish();
  waitFor(sv, pending, a.acts, waitSec, a.kill ?? false, finish);
}
