// Loggers the host runs itself. A log service whose ./run is nothing but
// `exec svlogd [options] dir...`, with this installation's svlogd, is not a
// Node process of its own: the host runs the svlogd engine (src/svlogd/) on
// the log pipe, and starts in place of svlogd a stand-in (libexec/svlogd,
// scripts/standin.mjs) that does nothing but wait for a signal. The stand-in
// is the log service's pid, as svlogd would be: it holds the log pipe as its
// standard input (so the pipe, and every line in it, outlives a host that
// dies), `ps` shows it as `svlogd -tt ./main` in the log directory, and it
// ends on what ends svlogd.
//
// `sv hup log` and `sv alarm log` reach the engine directly (reopen and
// re-read config; rotate). A signal sent by hand to the stand-in ends it: the
// engine then writes out what it has read (after a rotation, for ALRM) and
// ends as svlogd does on TERM, and runsv starts the log service again.
//
// Anything else in ./run (chpst, a variable, quoting, another program, another
// svlogd) runs as it is, a process of its own.
import fs from 'node:fs';
import path from 'node:path';
import { runLogger } from '../svlogd/engine.js';
import { openInput } from '../svlogd/input.js';
import type { SpawnProcessor } from '../svlogd/logdir.js';
import { readOptions } from '../svlogd/options.js';
import * as children from '../sys/children.js';

/** A log service the host runs itself: its stand-in's pid, and svlogd's signals. */
export interface TakenLog {
  pid: number;
  /** HUP and ALRM are svlogd's to handle (true); others go to the stand-in (STOP and CONT hold and release the engine too). */
  signal(sig: NodeJS.Signals): boolean;
}

const SIGHUP = 1;
const SIGALRM = 14;
const SIGTERM = 15;
const SHELLS = new Set(['/bin/sh', '/bin/dash', '/bin/bash', '/usr/bin/sh', '/usr/bin/dash', '/usr/bin/bash']);
/** A word the shell takes as it is: no quote, expansion, glob, redirection or operator. */
const PLAIN = /^[A-Za-z0-9_.,:/@%+=-]+$/;

const here = ((): string => {
  try { return path.dirname(fs.realpathSync(process.argv[1]!)); } catch { return ''; }
})();
/** This installation's svlogd (bin/ beside libexec/), and the stand-in beside the host. */
const ours = here ? path.join(path.dirname(here), 'bin', 'svlogd') : '';
const standin = here ? path.join(here, 'svlogd') : '';
let usable: boolean | null = null;

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

function isOurs(file: string): boolean {
  try {
    return fs.realpathSync(file) === ours;
  } catch {
    return false;
  }
}

/** The svlogd arguments of `dir`/run if the host can run that logger itself. */
export function plainSvlogd(dir: string): string[] | null {
  if (usable === null) usable = ours !== '' && executable(standin) && fs.existsSync(ours);
  if (!usable) return null;
  const run = path.join(dir, 'run');
  if (!executable(run)) return null; // runsv says why it cannot start it
  let text: string;
  try { text = fs.readFileSync(run, 'latin1'); } catch { return null; }
  const words = execWords(text);
  if (!words) return null;
  const prog = which(words[0]!, dir);
  if (!prog || !isOurs(prog)) return null;
  const opt = readOptions(words.slice(1));
  if (!opt) return null; // svlogd prints its usage: let it
  // A directory that cannot be opened: svlogd's own warnings and exit tell it.
  for (const d of opt.dirs) {
    try {
      if (!fs.statSync(path.resolve(dir, d)).isDirectory()) return null;
    } catch {
      return null;
    }
  }
  return words;
}

const spawnProcessor: SpawnProcessor = (cmd, cwd, fds, onExit) => {
  const devnull = fs.openSync('/dev/null', 'r');
  try {
    const dup: [number, number][] = [[fds[0]!, 0], [fds[1]!, 1], [2, 2], [devnull, 3], [fds[2]!, 4], [fds[3]!, 5]];
    return children.start('/bin/sh', ['sh', '-c', cmd], { cwd, dup }, (code) => onExit(code ?? 111));
  } finally {
    fs.closeSync(devnull);
  }
};

/**
 * Run `dir`'s logger in the host if its ./run is plain svlogd (else null: run
 * ./run). `pipeFd` is the log pipe's reading end; `onExit` is told when the log
 * service has ended, once the engine has written out everything it read.
 */
export function takeOver(dir: string, pipeFd: number, newSession: boolean, onExit: children.OnExit): TakenLog | null {
  const words = plainSvlogd(dir);
  if (!words) return null;
  const opt = readOptions(words.slice(1))!;
  // The engine reads the pipe through a descriptor of its own (closed when it ends).
  let fd: number;
  try {
    fd = fs.openSync(`/proc/self/fd/${pipeFd}`, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
  } catch {
    return null;
  }
  let reading = false; // the engine's input has the descriptor (and closes it)
  let gone: { code: number | null; sig: number } | null = null;
  let ended: number | null = null;
  let told = false;
  const finish = (): void => {
    if (gone === null || ended === null || told) return;
    told = true;
    // What svlogd handles (TERM) or would not have died of (HUP, ALRM) reads as its exit.
    const s = gone.sig;
    if (gone.code !== null || s === SIGTERM || s === SIGHUP || s === SIGALRM || ended !== 0) onExit(ended, 0, ended << 8);
    else onExit(null, s, s);
  };
  let pid: number;
  try {
    pid = children.start(standin, words, {
      cwd: dir, dup: [[pipeFd, 0], [1, 1], [2, 2]], newSession,
    }, (code, sig) => {
      gone = { code, sig };
      if (ended === null) {
        if (sig === SIGALRM) logger.alarm();
        logger.term();
      }
      finish();
    });
  } catch {
    fs.closeSync(fd);
    return null;
  }
  const logger = runLogger(opt, {
    at: dir,
    input: (onData, onEnd, round) => {
      reading = true;
      return openInput(onData, onEnd, round, fd);
    },
    spawn: spawnProcessor,
    exit: (code) => {
      if (ended !== null) return;
      ended = code;
      if (!reading) fs.closeSync(fd);
      if (gone === null) {
        try { process.kill(pid, 'SIGTERM'); } catch { /* gone: its exit is on the way */ }
      }
      finish();
    },
  });
  return {
    pid,
    signal: (sig) => {
      if (ended !== null) return false;
      if (sig === 'SIGHUP') logger.hup();
      else if (sig === 'SIGALRM') logger.alarm();
      else {
        // sv pause / cont: the stand-in is stopped too (ps shows it), the engine holds its reading
        if (sig === 'SIGSTOP') logger.stop();
        if (sig === 'SIGCONT') logger.cont();
        return false;
      }
      return true;
    },
  };
}
