// svlogd's own message shapes besides warning/fatal (src/sys/say.ts):
// `svlogd: info: ...` (-v) and `svlogd: pausing: ...` before a retry.
import { writeSync } from 'node:fs';
import { why } from '../sys/errors.js';

function emit(line: string): void {
  try { writeSync(2, line + '\n'); } catch { /* stderr gone */ }
}

export function info(text: string): void {
  emit(`svlogd: info: ${text}`);
}

/** `svlogd: pausing: what: dir: why`, said before waiting to try again. */
export function pausing(what: string, dir: string, err: unknown): void {
  emit(`svlogd: pausing: ${what}: ${dir}: ${why(err)}`);
}

/** `svlogd: warning: parts...[: why(err)]` (whatever process the engine runs in). */
export function warn(parts: string[], err?: unknown): void {
  emit(`svlogd: warning: ${parts.join('')}${err === undefined ? '' : ': ' + why(err)}`);
}

/** `svlogd: fatal: text` (the caller then ends the logger). */
export function sayFatal(text: string): void {
  emit(`svlogd: fatal: ${text}`);
}
