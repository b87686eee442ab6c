// svlogd's own message shapes besides warning/fatal (src/sys/say.ts):
// `svlogd: info: ...` (-v) and `svlogd: pausing: ...` before a retry.
import { writeSync } from 'node:fs';
import { why } from '../sys/errors.js';
import { program } from '../sys/say.js';

function emit(line: string): void {
  try { writeSync(2, line + '\n'); } catch { /* stderr gone */ }
}

export function info(text: string): void {
  emit(`${program()}: info: ${text}`);
}

/** `svlogd: pausing: what: dir: why`, said before waiting to try again. */
export function pausing(what: string, dir: string, err: unknown): void {
  emit(`${program()}: pausing: ${what}: ${dir}: ${why(err)}`);
}
