// The supervise/ status files (SPEC §2): the 20-byte `status` record, the
// human-readable `stat` line and the `pid` file. The supervisor writes them
// and every client reads them through this module only.
import fs from 'node:fs';
import * as tai from '../sys/tai64n.js';

export const STATE = { down: 0, run: 1, finish: 2 } as const;
export type State = 0 | 1 | 2;
const stateWords = ['down', 'run', 'finish'] as const;

export interface Status {
  when: tai.Tai64n; // last state change
  pid: number; // 0 when not running
  paused: boolean;
  want: 'u' | 'd';
  term: boolean; // TERM sent, process not yet exited
  state: State;
}

export const STATUS_SIZE = 20;

export function pack(s: Status): Buffer {
  const b = Buffer.alloc(STATUS_SIZE);
  tai.pack(s.when, b, 0);
  b.writeUInt32LE(s.pid >>> 0, 12);
  b[16] = s.paused ? 1 : 0;
  b[17] = s.want.charCodeAt(0);
  b[18] = s.term ? 1 : 0;
  b[19] = s.state;
  return b;
}

export function unpack(b: Buffer): Status {
  if (b.length < STATUS_SIZE) throw new Error('short status record');
  const state = b[19]!;
  return {
    when: tai.unpack(b, 0),
    pid: b.readUInt32LE(12),
    paused: b[16] !== 0,
    want: b[17] === 0x75 ? 'u' : 'd',
    term: b[18] !== 0,
    state: (state <= 2 ? state : 0) as State,
  };
}

export function stateWord(state: State): string {
  return stateWords[state];
}

/** The `stat` line: `run, paused, got TERM, want down` and the like. */
export function statText(s: Status, wantExit: boolean): string {
  let t: string = stateWords[s.state];
  if (s.paused) t += ', paused';
  if (s.term) t += ', got TERM';
  if (s.state !== STATE.down) {
    if (wantExit) t += ', want exit';
    else if (s.want === 'd') t += ', want down';
  }
  return t;
}

/** Read `supervise/status` from a supervise directory; throws on a short file. */
export function read(superviseDir: string): Status {
  const fd = fs.openSync(`${superviseDir}/status`, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
  try {
    const b = Buffer.alloc(STATUS_SIZE);
    const n = fs.readSync(fd, b, 0, STATUS_SIZE, null);
    if (n !== STATUS_SIZE) throw Object.assign(new Error('bad format'), { code: 'EBADFORMAT' });
    return unpack(b);
  } finally {
    fs.closeSync(fd);
  }
}

/** open(2) as fs.openSync takes it: the supervisor may give its own (files.openPath). */
export type Open = (file: string, flags: number, mode: number) => number;

function replace(dir: string, name: string, data: Buffer | string, warn: (what: string, e: unknown) => void,
  fresh: boolean, open: Open): boolean {
  // A first write where there is no file yet makes it in place: nobody reads
  // it before the supervisor answers on ok, which it does only after.
  if (fresh && create(`${dir}/${name}`, data, open)) return true;
  const tmp = `${dir}/${name}.new`;
  try {
    fs.writeFileSync(tmp, data, { mode: 0o644 });
  } catch (e) {
    warn(`open ${name}.new`, e);
    return false;
  }
  try {
    fs.renameSync(tmp, `${dir}/${name}`);
  } catch (e) {
    warn(`rename ${name}.new to ${name}`, e);
    return false;
  }
  return true;
}

/** Make `file` with `data` unless it exists: false if it does (or cannot be written whole: then it is not left). */
export function create(file: string, data: Buffer | string, open: Open = fs.openSync): boolean {
  let fd: number;
  try {
    fd = open(file, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL, 0o644);
  } catch {
    return false;
  }
  try {
    fs.writeSync(fd, typeof data === 'string' ? Buffer.from(data) : data);
    return true;
  } catch {
    try { fs.unlinkSync(file); } catch { /* the .new way then fails with why */ }
    return false;
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Write pid (unless `withPid` is false), stat and status (runsv's order), each
 * atomically (`X.new` then rename), or, `fresh` (before the supervisor first
 * answers on ok), made in place where there is none yet. The first failure goes to `warn` as
 * `open pid.new` / `rename pid.new to pid` and ends the update, as with runsv
 * (the supervisor keeps running without its files).
 */
export function write(superviseDir: string, s: Status, wantExit: boolean,
  warn: (what: string, e: unknown) => void, withPid = true, fresh = false, open: Open = fs.openSync): void {
  if (withPid && !replace(superviseDir, 'pid', s.pid ? `${s.pid}\n` : '', warn, fresh, open)) return;
  if (!replace(superviseDir, 'stat', statText(s, wantExit) + '\n', warn, fresh, open)) return;
  replace(superviseDir, 'status', pack(s), warn, fresh, open);
}
