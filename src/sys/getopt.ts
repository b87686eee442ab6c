// A getopt that behaves like runit's sgetopt: bundled flags (`-tt`, `-vw5`),
// an option's argument attached or in the next word (`-w5`, `-w 5`), `--` ends
// the options, a lone `-` is an operand. Unknown options and missing arguments
// print `prog: illegal option -- c` / `prog: option requires an argument -- c`.
import { writeSync } from 'node:fs';
import { program } from './say.js';

export interface Opt { opt: string; arg?: string }

export class GetoptError extends Error {}

/**
 * Parse `argv` (without node and script) against `spec` ("vw:": `w` takes an
 * argument). Returns the options in order and the operands. On a bad option it
 * writes the message (starting with `name`) and throws GetoptError; the caller
 * prints its usage.
 */
export function getopt(argv: string[], spec: string, name = program()): { opts: Opt[]; rest: string[] } {
  const opts: Opt[] = [];
  let i = 0;
  for (; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') { i++; break; }
    if (a.length < 2 || a[0] !== '-') break;
    for (let j = 1; j < a.length; j++) {
      const c = a[j]!;
      const at = spec.indexOf(c);
      if (at < 0 || c === ':') {
        writeSync(2, `${name}: illegal option -- ${c}\n`);
        throw new GetoptError(c);
      }
      if (spec[at + 1] === ':') {
        let arg = a.slice(j + 1);
        if (arg === '') {
          if (i + 1 >= argv.length) {
            writeSync(2, `${name}: option requires an argument -- ${c}\n`);
            throw new GetoptError(c);
          }
          arg = argv[++i]!;
        }
        opts.push({ opt: c, arg });
        break;
      }
      opts.push({ opt: c });
    }
  }
  return { opts, rest: argv.slice(i) };
}
