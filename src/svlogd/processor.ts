// A processor started with node:child_process: what the svlogd program uses.
// (The runsvdir host starts its loggers' processors with sys/children.ts,
// which reaps every child of its process.)
import { spawn } from 'node:child_process';
import type { SpawnProcessor } from './logdir.js';

export const spawnWithNode: SpawnProcessor = (cmd, cwd, fds, onExit) => {
  const child = spawn('/bin/sh', ['-c', cmd], {
    cwd, stdio: [fds[0]!, fds[1]!, 'inherit', 'ignore', fds[2]!, fds[3]!],
  });
  child.on('exit', (code) => onExit(code ?? 111));
  child.on('error', () => onExit(111));
  return child;
};
