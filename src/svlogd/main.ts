// svlogd: read lines from standard input, select them per log directory,
// stamp them, and write them to automatically rotated logs (man svlogd).
// The work is the engine's (engine.ts); this is the program around it.
import { dropKoffiZeroPages } from '../memory/zeropages.js';
import { calledAs } from '../sys/argv0.js';
import { setProgram } from '../sys/say.js';
import { setTitle } from '../sys/title.js';
import { runLogger } from './engine.js';
import { openInput } from './input.js';
import { parseOptions } from './options.js';
import { spawnWithNode } from './processor.js';

export function main(argv: string[]): void {
  setProgram('svlogd');
  dropKoffiZeroPages();
  const opt = parseOptions(argv.slice(2));
  // `ps` shows `svlogd -tt ./main` (as called), and `pidof svlogd` finds it, as with runit's
  setTitle([calledAs(), ...argv.slice(2)], 'svlogd');
  const logger = runLogger(opt, {
    input: (onData, onEnd, round) => openInput(onData, onEnd, round),
    spawn: spawnWithNode,
    exit: (code) => process.exit(code),
  });
  process.on('SIGHUP', logger.hup);
  process.on('SIGALRM', logger.alarm);
  process.on('SIGTERM', logger.term);
}
