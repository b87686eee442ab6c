// A service's ./down file: the service is not started until told to (man runsv).
import fs from 'node:fs';

/** True unless `dir/down` exists; the error when it cannot be told (a link loop, say). */
export function normallyUp(dir: string): boolean | Error {
  try {
    fs.statSync(`${dir}/down`);
    return false;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return true;
    return e as Error;
  }
}
