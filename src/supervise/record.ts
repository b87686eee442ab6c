// supervise/record: what runit forgets about a service, one JSON object on one
// line, replaced atomically (record.new, then rename) at each change:
//   {"starts":3,"startedAt":1764622799.25,"exitCode":1,"exitSignal":null,"exitedAt":1764622800.25,
//    "permanent":false,"nextStart":1764622802.25}
// starts: times ./run was started by this supervisor; startedAt: the last
// start (Unix seconds); exitCode / exitSignal:
// how the last ./run ended (one of them null); exitedAt: when (Unix seconds);
// permanent: ./finish exited 125, the service is not restarted until told up;
// nextStart: when the next start of ./run is due while the supervisor waits
// for it (runit's second between starts, or longer with `backoff`), else null.
// Readers take a missing or unreadable file for "nothing recorded" (runit's runsv).
import fs from 'node:fs';
import { create, type Open } from './status.js';

export interface Record {
  starts: number;
  startedAt: number | null;
  exitCode: number | null;
  exitSignal: number | null;
  exitedAt: number | null;
  permanent: boolean;
  nextStart: number | null;
}

export const empty = (): Record => ({
  starts: 0, startedAt: null, exitCode: null, exitSignal: null, exitedAt: null, permanent: false, nextStart: null,
});

/** Write dir/record (`fresh`: made in place if there is none, as status.write does); false (and nothing else happens) when it cannot be written. */
export function write(superviseDir: string, r: Record, fresh = false, open: Open = fs.openSync): boolean {
  if (fresh && create(`${superviseDir}/record`, JSON.stringify(r) + '\n', open)) return true;
  const tmp = `${superviseDir}/record.new`;
  try {
    fs.writeFileSync(tmp, JSON.stringify(r) + '\n', { mode: 0o644 });
    fs.renameSync(tmp, `${superviseDir}/record`);
    return true;
  } catch {
    return false;
  }
}

/** The record in a supervise directory, or null when there is none (runit's runsv writes none). */
export function read(superviseDir: string): Record | null {
  let t: string;
  try {
    t = fs.readFileSync(`${superviseDir}/record`, 'utf8');
  } catch {
    return null;
  }
  try {
    const o = JSON.parse(t) as Partial<Record>;
    const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);
    return {
      starts: num(o.starts) ?? 0,
      startedAt: num(o.startedAt),
      exitCode: num(o.exitCode),
      exitSignal: num(o.exitSignal),
      exitedAt: num(o.exitedAt),
      permanent: o.permanent === true,
      nextStart: num(o.nextStart),
    };
  } catch {
    return null;
  }
}

/** Now, in Unix seconds with milliseconds. */
export const unixNow = (): number => Date.now() / 1000;
