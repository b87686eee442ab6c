// Messages in runit's one shape: `program: fatal: what: why`, `program: warning: ...`.
import { writeSync } from 'node:fs';
import { why } from './errors.js';

let prog = 'runit';
export function setProgram(name: string): void { prog = name; }
export function program(): string { return prog; }

function emit(line: string): void {
  try { writeSync(2, line + '\n'); } catch { /* stderr gone: nothing to tell */ }
}

/** `prog: warning: parts...[: why(err)]` */
export function warn(parts: string[], err?: unknown): void {
  emit(`${prog}: warning: ${parts.join('')}${err === undefined ? '' : ': ' + why(err)}`);
}

/** `prog: fatal: parts...[: why(err)]`, then exit with `code`. */
export function fatal(code: number, parts: string[], err?: unknown): never {
  emit(`${prog}: fatal: ${parts.join('')}${err === undefined ? '' : ': ' + why(err)}`);
  process.exit(code);
}

/** `usage: prog ...` and exit 100, as every runit program does on bad usage. */
export function usage(text: string): never {
  emit(`usage: ${prog} ${text}`);
  process.exit(100);
}
