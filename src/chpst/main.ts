// chpst (man chpst): parse the options, then change the process state and exec.
// Called as envdir, envuidgid, pgrphack, setuidgid, softlimit or setlock, it
// takes that daemontools program's arguments instead.
import path from 'node:path';
import { writeSync } from 'node:fs';
import { GetoptError, getopt, type Opt } from '../sys/getopt.js';
import { setProgram } from '../sys/say.js';
import { parseLimit, type Limit, type Limits } from './limits.js';
import { changeAndRun, type Changes } from './state.js';

const USAGE = '[-vVP012] [-u user[:group]] [-U user[:group]] [-b argv0] [-e dir] [-/ root] [-C pwd] '
  + '[-n nice] [-l|-L lock] [-m n] [-d n] [-o n] [-p n] [-f n] [-c n] [-t n] prog';
const VERSION = '$Id: runit-ts chpst 0.1.0 $';

const USAGES: Record<string, string> = {
  envdir: 'dir child',
  envuidgid: 'account child',
  pgrphack: 'child',
  setuidgid: 'account child',
  setlock: '[ -nNxX ] file program [ arg ... ]',
  softlimit: '[-a allbytes] [-c corebytes] [-d databytes] [-f filebytes] [-l lockbytes] [-m membytes] '
    + '[-o openfiles] [-p processes] [-r residentbytes] [-s stackbytes] [-t cpusecs] child',
};

let name = 'chpst';

/** runit's usage: the text, an empty line, exit 100. */
function usage(text: string): never {
  try { writeSync(2, `usage: ${name} ${text}\n\n`); } catch { /* stderr gone */ }
  process.exit(100);
}

function parse(args: string[], spec: string, text: string): { opts: Opt[]; rest: string[] } {
  try {
    return getopt(args, spec);
  } catch (e) {
    if (e instanceof GetoptError) usage(text);
    throw e;
  }
}

function limit(arg: string, text: string): Limit {
  return parseLimit(arg) ?? usage(text);
}

/** -n: an integer, with an optional sign. */
function niceValue(arg: string): number {
  const m = /^([-+]?)([0-9]*)$/.exec(arg);
  if (!m) usage(USAGE);
  const v = Math.min(m[2] === '' ? 0 : Number(m[2]), 2 ** 31 - 1); // nice(2) takes an int and clamps
  return m[1] === '-' ? -v : v;
}

function chpst(args: string[]): void {
  const { opts, rest } = parse(args, 'u:U:b:e:m:d:o:p:f:c:r:t:/:C:n:l:L:vP012V', USAGE);
  const ch: Changes = {};
  const lim: Limits = {};
  for (const { opt, arg = '' } of opts) {
    switch (opt) {
      case 'u': ch.user = { spec: arg, extended: true }; break;
      case 'U': ch.envUser = { spec: arg, extended: true }; break;
      case 'b': ch.argv0 = arg; break;
      case 'e': ch.envdir = { dir: arg, skipDirs: true }; break;
      case 'm': lim.stack = lim.memlock = lim.as = lim.data = limit(arg, USAGE); break;
      case 'd': lim.data = limit(arg, USAGE); break;
      case 'o': lim.nofile = limit(arg, USAGE); break;
      case 'p': lim.nproc = limit(arg, USAGE); break;
      case 'f': lim.fsize = limit(arg, USAGE); break;
      case 'c': lim.core = limit(arg, USAGE); break;
      case 'r': lim.rss = limit(arg, USAGE); break;
      case 't': lim.cpu = limit(arg, USAGE); break;
      case '/': ch.root = arg; break;
      case 'C': ch.cwd = arg; break;
      case 'n': ch.nice = niceValue(arg); break;
      case 'l': case 'L':
        if (ch.lock) usage(USAGE);
        ch.lock = { file: arg, wait: opt === 'l' };
        break;
      case 'v': ch.verbose = true; break;
      case 'P': ch.setsid = true; break;
      case '0': ch.close = { ...ch.close, stdin: true }; break;
      case '1': ch.close = { ...ch.close, stdout: true }; break;
      case '2': ch.close = { ...ch.close, stderr: true }; break;
      case 'V':
        try { writeSync(2, VERSION + '\n'); } catch { /* stderr gone */ }
        usage(USAGE);
    }
  }
  if (rest.length === 0) usage(USAGE);
  ch.limits = lim;
  run(ch, args.length - rest.length);
}

function softlimit(args: string[]): void {
  const text = USAGES.softlimit!;
  const { opts, rest } = parse(args, 'a:c:d:f:l:m:o:p:r:s:t:', text);
  const lim: Limits = {};
  // `=` means "as high as the hard limit"; a bad number gets chpst's own usage, as in runit
  const v = (arg: string): Limit => (arg === '=' ? 'max' : limit(arg, USAGE));
  for (const { opt, arg = '' } of opts) {
    switch (opt) {
      case 'a': lim.as = v(arg); break;
      case 'c': lim.core = v(arg); break;
      case 'd': lim.data = v(arg); break;
      case 'f': lim.fsize = v(arg); break;
      case 'l': lim.memlock = v(arg); break;
      case 'm': lim.stack = lim.memlock = lim.as = lim.data = v(arg); break;
      case 'o': lim.nofile = v(arg); break;
      case 'p': lim.nproc = v(arg); break;
      case 'r': lim.rss = v(arg); break;
      case 's': lim.stack = v(arg); break;
      case 't': lim.cpu = v(arg); break;
    }
  }
  if (rest.length === 0) usage(text);
  run({ limits: lim }, args.length - rest.length);
}

function setlock(args: string[]): void {
  const text = USAGES.setlock!;
  const { opts, rest } = parse(args, 'nNxX', text);
  // daemontools setlock(8): -N (wait) and -X (complain) are the defaults
  let wait = true;
  let quiet = false;
  for (const { opt } of opts) {
    if (opt === 'n') wait = false;
    if (opt === 'N') wait = true;
    if (opt === 'x') quiet = true;
    if (opt === 'X') quiet = false;
  }
  if (rest.length < 2) usage(text);
  run({ lock: { file: rest[0]!, wait, quiet } }, args.length - rest.length + 1);
  process.exit(0); // setlock -x: could not lock or run, and says nothing
}

/** envdir, envuidgid, pgrphack, setuidgid: fixed arguments, no options. */
function simple(kind: string, args: string[]): void {
  const needs = kind === 'pgrphack' ? 1 : 2;
  if (args.length < needs) usage(USAGES[kind]!);
  const first = args[0]!;
  const ch: Changes =
    kind === 'envdir' ? { envdir: { dir: first, skipDirs: false } }
      : kind === 'envuidgid' ? { envUser: { spec: first, extended: false } }
        : kind === 'setuidgid' ? { user: { spec: first, extended: false } }
          : { setsid: true };
  run(ch, needs - 1);
}

function run(ch: Changes, progAt: number): void {
  setProgram('chpst'); // runit's messages say chpst whatever the name it was called by
  changeAndRun(ch, progAt);
}

export function main(argv: string[]): void {
  const base = path.basename(argv[1] ?? 'chpst');
  // as runit does: a leading `d` is dropped (so dsetlock is setlock), though
  // getopt's complaints still use the full name
  name = base.startsWith('d') ? base.slice(1) : base;
  setProgram(base);
  const args = argv.slice(2);
  if (name === 'softlimit') softlimit(args);
  else if (name === 'setlock') setlock(args);
  else if (name in USAGES) simple(name, args);
  else chpst(args);
}
