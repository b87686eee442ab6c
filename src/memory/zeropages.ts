// Giving back the all-zero pages of koffi's static data (runsvdir, its host,
// runsv and svlogd, once loaded).
import fs from 'node:fs';
import { getpagesize, madvise } from '../sys/libc.js';

const MADV_DONTNEED = 4;

/**
 * Give back the pages of koffi's zero-initialised static data (its .bss,
 * ~760 KB: a table of callback trampolines) that loading koffi wrote zeros
 * to: 0.66 MB per process that would otherwise stay resident while holding
 * nothing. A page is let go (MADV_DONTNEED) only if every byte of it is zero,
 * and a private anonymous page that is let go reads back as zeros, so no byte
 * the process sees changes. koffi writes this table again only when a
 * JavaScript callback is registered, which we never do, and only on this
 * thread. Returns how many bytes were given back; never throws.
 */
export function dropKoffiZeroPages(): number {
  let maps: string[];
  try { maps = fs.readFileSync('/proc/self/maps', 'latin1').split('\n'); } catch { return 0; }
  let i = -1;
  for (let j = 0; j < maps.length; j++) if (maps[j]!.endsWith('/koffi.node')) i = j;
  // The .bss is the anonymous mapping the loader placed right after the
  // library's last file mapping.
  const range = (line: string | undefined): [bigint, bigint] | null => {
    const f = line?.split(/\s+/);
    if (!f || f.length < 5) return null;
    const [a, b] = f[0]!.split('-').map((x) => BigInt('0x' + x));
    return [a!, b!];
  };
  const lib = range(maps[i]);
  const bss = range(maps[i + 1]);
  const f = maps[i + 1]?.split(/\s+/);
  if (!lib || !bss || bss[0] !== lib[1] || f![1] !== 'rw-p' || f![4] !== '0' || f![5]) return 0;
  const len = Number(bss[1] - bss[0]);
  if (len > 4 << 20) return 0;
  const data = Buffer.alloc(len);
  try {
    const fd = fs.openSync('/proc/self/mem', 'r');
    try { fs.readSync(fd, data, 0, len, bss[0]); } finally { fs.closeSync(fd); }
  } catch { return 0; }
  const PAGE = getpagesize();
  const zero = Buffer.alloc(PAGE);
  let dropped = 0;
  for (let p = 0; p < len;) {
    if (data.compare(zero, 0, PAGE, p, p + PAGE) !== 0) { p += PAGE; continue; }
    let q = p + PAGE;
    while (q < len && data.compare(zero, 0, PAGE, q, q + PAGE) === 0) q += PAGE;
    try {
      madvise(bss[0] + BigInt(p), BigInt(q - p), MADV_DONTNEED);
      dropped += q - p;
    } catch { /* kept */ }
    p = q;
  }
  return dropped;
}
