// Reading the services directory as runsvdir does (man runsvdir): every
// subdirectory or symlink to one, names starting with a dot skipped, a
// directory reached twice (a symlink to a sibling) counted once, at most 1000.
import fs from 'node:fs';
import path from 'node:path';

export const MAX_SERVICES = 1000;

/** key (device:inode) -> name in DIR */
export type Services = Map<string, string>;

export function keyOf(st: fs.Stats): string {
  return `${st.dev}:${st.ino}`;
}

/**
 * What DIR holds now, keeping what `known` already supervises first; null
 * when DIR cannot be read (then nothing changes).
 */
export function scan(dir: string, known: Services, warn: (text: string, err?: unknown) => void): Services | null {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch (e) {
    warn(`unable to read directory ${dir}`, e);
    return null;
  }
  const seen: Services = new Map();
  const fresh: [string, string][] = [];
  for (const name of names) {
    if (name.startsWith('.')) continue;
    let st: fs.Stats;
    try {
      st = fs.statSync(path.join(dir, name));
    } catch (e) {
      warn(`unable to stat ${name}`, e);
      continue;
    }
    if (!st.isDirectory()) continue;
    const key = keyOf(st);
    if (known.has(key)) seen.set(key, known.get(key)!);
    else fresh.push([key, name]);
  }
  for (const [key, name] of fresh) {
    if (seen.has(key)) continue;
    if (seen.size >= MAX_SERVICES) {
      warn(`unable to start runsv ${name}: too many services.`);
      continue;
    }
    seen.set(key, name);
  }
  return seen;
}
