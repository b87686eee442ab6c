// What a log service's ./run runs, as far as the runsvdir host can tell: a
// `#!/bin/sh` script whose one command is `exec svlogd ...` or `exec chpst -u
// USER svlogd ...`, with this installation's chpst and svlogd, and plain
// words only, is a logger the host runs itself (logger.ts); anything else is
// run as it is.
import fs from 'node:fs';
import path from 'node:path';
import { lookupExtended } from '../chpst/uidgid.js';
import { readOptions } from '../svlogd/options.js';
import { asUser, CannotAct, canAct, type User } from '../sys/identity.js';

const SHELLS = new Set(['/bin/sh', '/bin/dash', '/bin/bash', '/usr/bin/sh', '/usr/bin/dash', '/usr/bin/bash']);
/** A word the shell takes as it is: no quote, expansion, glob, redirection or operator. */
const PLAIN = /^[A-Za-z0-9_.,:/@%+=-]+$/;

const here = ((): string => {
  try { return path.dirname(fs.realpathSync(process.argv[1]!)); } catch { return ''; }
})();
/** This installation's svlogd and chpst (bin/ beside libexec/), and the stand-in beside the host. */
const ours = here ? path.join(path.dirname(here), 'bin', 'svlogd') : '';
const ourChpst = here ? path.join(path.dirname(here), 'bin', 'chpst') : '';
/** The stand-in's program (scripts/standin.mjs). */
export const standin = here ? path.join(here, 'svlogd') : '';
let usable: boolean | null = null;
/** Log directories (device:inode) whose engine gave up: their ./run runs from now on. */
const refused = new Set<string>();

/** `dir`'s engine gave up: its ./run runs from now on (until the host restarts). */
export function refuse(dir: string): void {
  const id = dirKey(dir);
  if (id !== null) refused.add(id);
}

function dirKey(dir: string): string | null {
  try {
    const st = fs.statSync(dir);
    return `${st.dev}:${st.ino}`;
  } catch {
    return null;
  }
}

/** The words of ./run's one command when it is `exec WORD...` with plain words only. */
export function execWords(text: string): string[] | null {
  const lines = text.split('\n');
  const bang = /^#!\s*(\S+)\s*$/.exec(lines[0] ?? '');
  if (!bang || !SHELLS.has(bang[1]!)) return null;
  let words: string[] | null = null;
  for (const raw of lines.slice(1)) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    if (words) return null; // a line after the exec: not ours to judge
    const w = line.split(/[ \t]+/);
    if (w[0] !== 'exec' || w.length < 2 || !w.slice(1).every((x) => PLAIN.test(x))) return null;
    words = w.slice(1);
  }
  return words;
}

function executable(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

/** The program `exec word` in `cwd` runs with the host's PATH (what ./run gets). */
function which(word: string, cwd: string): string | null {
  if (word.includes('/')) return path.resolve(cwd, word);
  for (const d of (process.env.PATH ?? '/bin:/usr/bin').split(':')) {
    const f = path.resolve(cwd, d, word);
    if (executable(f)) return f;
  }
  return null;
}

/**
 * What `which` and `isOurs` said of a word of a log/run, by user and word,
 * while one list from runsvdir is handled (sameLookups): a tree's loggers
 * name the same svlogd, looked up once instead of once per logger. Null:
 * every start looks them up (a logger started again, alone).
 */
let lookups: Map<string, boolean> | null = null;

/** From now on (true) until false, a program named again is taken to be what it was. */
export function sameLookups(on: boolean): void {
  lookups = on ? (lookups ?? new Map()) : null;
}

/** Is `exec word` in `cwd` this installation's `program` (looked up as `user`, null: as the host)? */
function runsOurs(word: string, cwd: string, program: string, user: User | null): boolean {
  // a word or PATH relative to the directory is looked up for it alone
  const shared = word.includes('/') ? path.isAbsolute(word)
    : (process.env.PATH ?? '/bin:/usr/bin').split(':').every((d) => path.isAbsolute(d));
  const key = `${user ? `${user.uid}:${user.groups.join(',')}` : '-'}:${word}`;
  const known = shared ? lookups?.get(key) : undefined;
  if (known !== undefined) return known;
  const prog = which(word, cwd);
  const yes = prog !== null && isOurs(prog, program);
  if (shared) lookups?.set(key, yes);
  return yes;
}

function isOurs(file: string, program = ours): boolean {
  try {
    // realpath(3): one call instead of a Stats object for each component
    return fs.realpathSync.native(file) === program;
  } catch {
    return false;
  }
}

/** How a logger runs in the host: svlogd's arguments (from `svlogd` on), and as whom (null: as the host). */
export interface Plan { words: string[]; user: User | null }

/**
 * `chpst -u SPEC svlogd ...` (`-uSPEC` too), nothing else: the user chpst
 * would become (man chpst, -u; src/chpst/uidgid.ts) and the words after the
 * option. Null for any other chpst, or a user chpst would not find.
 */
function chpstUser(words: string[], dir: string): { user: User; rest: string[] } | null {
  if (path.basename(words[0]!) !== 'chpst') return null; // envdir, setuidgid, ... are chpst too
  if (!runsOurs(words[0]!, dir, ourChpst, null)) return null;
  const w = words[1] ?? '';
  let spec: string;
  let rest: string[];
  if (w === '-u') [spec, rest] = [words[2] ?? '', words.slice(3)];
  else if (w.startsWith('-u') && w.length > 2) [spec, rest] = [w.slice(2), words.slice(2)];
  else return null;
  if (spec === '' || rest.length === 0 || rest[0]!.startsWith('-')) return null;
  try {
    const { uid, gids } = lookupExtended(spec);
    return { user: { uid, gid: gids[0]!, groups: gids }, rest };
  } catch {
    return null; // chpst says why
  }
}

/** How the host can run the logger `dir`/run itself, or null (it runs ./run). */
export function hostedLogger(dir: string): Plan | null {
  if (usable === null) usable = ours !== '' && executable(standin) && fs.existsSync(ours);
  if (!usable) return null;
  if (refused.size > 0) { // a stat for each logger only once one was refused
    const id = dirKey(dir);
    if (id === null || refused.has(id)) return null;
  }
  const run = path.join(dir, 'run');
  if (!executable(run)) return null; // runsv says why it cannot start it
  let text: string;
  try { text = fs.readFileSync(run, 'latin1'); } catch { return null; }
  let words = execWords(text);
  if (!words) return null;
  let user: User | null = null;
  if (path.basename(words[0]!) === 'chpst') {
    const c = chpstUser(words, dir);
    if (!c || !canAct()) return null;
    ({ user, rest: words } = c);
  }
  const svlogd = words;
  const opt = readOptions(svlogd.slice(1));
  if (!opt) return null; // svlogd prints its usage: let it
  const checks = (): boolean => {
    if (!runsOurs(svlogd[0]!, dir, ours, user)) return false; // chpst looks svlogd up as the user
    // A directory that cannot be opened: svlogd's own warnings and exit tell it.
    for (const d of opt.dirs) {
      try {
        if (!fs.statSync(path.resolve(dir, d)).isDirectory()) return false;
      } catch {
        return false;
      }
    }
    return true;
  };
  try {
    if (!(user ? asUser(user, checks) : checks())) return null;
  } catch (e) {
    if (e instanceof CannotAct) return null;
    throw e;
  }
  return { words: svlogd, user };
}
