// koffi's native module, loaded directly: koffi's index.js also requires
// https, zlib and crypto (for its installer), ~7 ms of start-up that every
// chpst and runsv would pay. Falls back to the package when the prebuilt
// file for this platform is not where koffi ships it (musl, say).
//
// koffi is looked up from this program's real location (a program reached
// through a symlink, as npm installs them, is found where the package is),
// then where NODE_PATH says, then in a global npm install of runit-ts beside
// node (a program copied to /sbin, say). Without it the program cannot work:
// it says so in runit's words and exits 111, as on any other failure to set up.
import { writeSync } from 'node:fs';
import path from 'node:path';
import type * as Koffi from 'koffi';

declare const __filename: string | undefined;
declare const require: NodeJS.Require | undefined;
const here = typeof __filename === 'string' ? __filename : import.meta.url;
/**
 * A require from `from`. A bundle's own require is the one for its file:
 * node:module (~0.8 ms of every program's start) only for the rest.
 */
const requireFrom = (from: string): NodeJS.Require =>
  from === here && typeof require === 'function' ? require
    : process.getBuiltinModule('node:module').createRequire(from);
const global = path.resolve(process.execPath, '../../lib/node_modules/runit-ts/package.json');

const notFound = (e: unknown): boolean => (e as { code?: string }).code === 'MODULE_NOT_FOUND';

function load(): typeof Koffi {
  let last: unknown;
  for (const from of [here, global]) {
    const req = requireFrom(from);
    for (const id of [`koffi/build/koffi/${process.platform}_${process.arch}/koffi.node`, 'koffi']) {
      try {
        return req(id) as typeof Koffi;
      } catch (e) {
        if (!notFound(e)) return fail(e);
        last = e;
      }
    }
  }
  return fail(last);
}

function fail(e: unknown): never {
  const prog = path.basename(process.argv[1] ?? 'runit-ts');
  const why = notFound(e)
    ? 'file does not exist (run the program where npm installed it, or through a symlink to it)'
    : (e instanceof Error ? e.message.split('\n')[0] : String(e));
  try { writeSync(2, `${prog}: fatal: unable to load koffi: ${why}\n`); } catch { /* no stderr */ }
  process.exit(111);
}

const koffi = load();
export default koffi;
