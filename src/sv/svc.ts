// svc [-udopchaitkx] service ... — BusyBox's svc (daemontools' name): each
// option is sv's command of that letter, sent to every service in turn, in
// BusyBox's order (u d o p c h a i t k x, whatever the order given), without
// waiting; services are found as sv finds them. The first command that fails
// for a service ends svc with exit 1, as BusyBox's does.
import fs from 'node:fs';
import { GetoptError, getopt } from '../sys/getopt.js';
import { setProgram } from '../sys/say.js';
import { Sv, svdir } from './client.js';

const ORDER = 'udopchaitkx';

function usage(): never {
  try { fs.writeSync(2, `usage: svc [-${ORDER}] service ...\n\n`); } catch { /* no stderr */ }
  process.exit(100);
}

export function main(argv: string[]): void {
  setProgram('svc');
  let wanted = new Set<string>();
  let names: string[];
  try {
    const r = getopt(argv.slice(2), ORDER);
    wanted = new Set(r.opts.map((o) => o.opt));
    names = r.rest;
  } catch (e) {
    if (e instanceof GetoptError) usage();
    throw e;
  }
  if (wanted.size === 0 || names.length === 0) usage();
  for (const c of ORDER) {
    if (!wanted.has(c)) continue;
    const sv = new Sv(false, svdir());
    for (const name of names) {
      const dir = sv.dirOf(name);
      if (sv.chdirOk(name, dir)) sv.send(name, dir, c);
    }
    if (sv.failures) process.exit(1);
  }
  process.exit(0);
}
