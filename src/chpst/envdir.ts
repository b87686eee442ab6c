// envdir (man chpst, -e): every file k in dir whose name does not start with a
// dot sets k to its first line (trailing spaces and tabs removed, NULs turned
// into newlines); an empty file unsets k.
import fs from 'node:fs';
import { fatal, warn } from '../sys/say.js';
import { errCode } from '../sys/errors.js';
import type { Environ } from './environ.js';

export interface EnvdirOptions {
  /** chpst -e skips subdirectories (telling so with -v); envdir(8) treats them as errors. */
  skipDirs: boolean;
  verbose: boolean;
}

export function envdir(dir: string, env: Environ, o: EnvdirOptions): void {
  // runit changes into dir first: the same check, the same words when it fails
  try {
    fs.accessSync(`${dir}/.`, fs.constants.X_OK);
  } catch (e) {
    fatal(111, ['unable to switch to directory: ', dir], e);
  }
  // in the directory's own order, as runit reads it (readdirSync would sort)
  let d: fs.Dir;
  try {
    d = fs.opendirSync(dir, { encoding: 'buffer' as BufferEncoding });
  } catch (e) {
    fatal(111, ['unable to open directory: ', dir], e);
  }
  const prefix = Buffer.from(dir + '/');
  for (;;) {
    let entry: fs.Dirent | null;
    try {
      entry = d.readSync();
    } catch (e) {
      fatal(111, ['unable to read directory: ', dir], e);
    }
    if (entry === null) break;
    const name = entry.name as unknown as Buffer;
    if (name[0] === 0x2e) continue;
    let data: Buffer;
    try {
      data = fs.readFileSync(Buffer.concat([prefix, name]));
    } catch (e) {
      const code = errCode(e);
      if (code === 'ENOENT') continue; // gone since readdir, or a dangling link
      if (code === 'EISDIR' && o.skipDirs) {
        if (o.verbose) warn(['unable to read ', dir, '/', name.toString()], e);
        continue;
      }
      fatal(111, ['unable to read ', dir, '/', name.toString()], e);
    }
    env.set(name, data.length === 0 ? null : firstLine(data));
  }
  d.closeSync();
}

function firstLine(data: Buffer): Buffer {
  let end = data.indexOf(0x0a);
  if (end < 0) end = data.length;
  while (end > 0 && (data[end - 1] === 0x20 || data[end - 1] === 0x09)) end--;
  const v = Buffer.from(data.subarray(0, end));
  for (let i = 0; i < v.length; i++) if (v[i] === 0) v[i] = 0x0a;
  return v;
}
