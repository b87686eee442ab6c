// koffi's native module, loaded directly: koffi's index.js also requires
// https, zlib and crypto (for its installer), ~7 ms of start-up that every
// chpst and runsv would pay. Falls back to the package when the prebuilt
// file for this platform is not where koffi ships it.
import { createRequire } from 'node:module';
import type * as Koffi from 'koffi';

declare const __filename: string | undefined;
const here = typeof __filename === 'string' ? __filename : import.meta.url;
const req = createRequire(here);

function load(): typeof Koffi {
  try {
    return req(`koffi/build/koffi/${process.platform}_${process.arch}/koffi.node`) as typeof Koffi;
  } catch {
    return req('koffi') as typeof Koffi;
  }
}

const koffi = load();
export default koffi;
