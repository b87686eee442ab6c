// svlogd killed with SIGKILL under runsv, again and again, while a service
// writes numbered lines into the log pipe: no line is lost and none is torn
// (svlogd takes from the pipe only what it has written); a line may be
// written twice after a kill, at most a round's worth (README).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import * as status from '../src/supervise/status.js';
import { alive, bin, read, reap, run, script, startSupervisor, stopAll, stopSupervisor, tmpdir, until } from './helpers.js';

after(stopAll);

const KILLS = 8;
/** What a kill may bring twice: one round (input.ts ROUND_MIN, the -b default being below it). */
const ROUND = 1 << 16;

const logPid = (dir: string): number => {
  try {
    const s = status.read(path.join(dir, 'log/supervise'));
    return s.state === status.STATE.run && alive(s.pid) ? s.pid : 0;
  } catch {
    return 0;
  }
};

/** Counts of every number in the log; fails on a line that is no number of 1..last. */
function tally(dir: string, last: number): { missing: number[]; twice: number } {
  const main = path.join(dir, 'log/main');
  const files = fs.readdirSync(main).filter((f) => f.startsWith('@')).sort().concat('current');
  const seen = new Uint8Array(last + 1);
  let twice = 0;
  for (const f of files) {
    for (const line of read(path.join(main, f)).split('\n')) {
      if (line === '') continue;
      assert.match(line, /^[1-9]\d*$/, `a whole line in ${f}`);
      const n = Number(line);
      assert.ok(n <= last, `${n} was produced (last ${last})`);
      if (seen[n]) twice++;
      seen[n] = 1;
    }
  }
  const missing: number[] = [];
  for (let n = 1; n <= last; n++) if (!seen[n]) missing.push(n);
  return { missing, twice };
}

/** Kill the logger KILLS times (or until `finished`), each time once it has written more; returns the kills. */
async function killRepeatedly(dir: string, finished = (): boolean => false): Promise<number> {
  const size = (): number => { try { return fs.statSync(path.join(dir, 'log/main/current')).size; } catch { return 0; } };
  let kills = 0;
  while (kills < KILLS && !finished()) {
    await until('a logger runs', () => logPid(dir) > 0);
    const pid = logPid(dir);
    const before = size();
    await until('it writes', () => size() > before + 10000 || finished());
    if (finished()) break;
    process.kill(pid, 'SIGKILL');
    kills++;
    await until('it is gone', () => !alive(pid));
  }
  return kills;
}

/** The last bytes of a file (it may be tens of MB). */
function tail(file: string): string {
  try {
    const fd = fs.openSync(file, 'r');
    try {
      const b = Buffer.alloc(32);
      const n = fs.readSync(fd, b, 0, 32, Math.max(0, fs.fstatSync(fd).size - 32));
      return b.subarray(0, n).toString('latin1');
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    return '';
  }
}

function service(run: string): string {
  const dir = path.join(tmpdir('svlogd-kill-'), 'svc');
  script(path.join(dir, 'run'), run);
  fs.mkdirSync(path.join(dir, 'log/main'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'log/main/config'), 's1000000000\n'); // no rotation drops a file
  script(path.join(dir, 'log/run'), `exec ${bin('svlogd')} main`);
  return dir;
}

describe('svlogd killed with SIGKILL under runsv', () => {
  it('loses no line of a service writing a line at a time', async () => {
    // TERM ends the loop after a whole turn: a trap that wrote $i at once
    // could name a number counted and not yet echoed (a TERM between the two)
    const dir = service("i=0\nstop=0\ntrap 'stop=1' TERM\nwhile [ $stop = 0 ]; do i=$((i+1)); echo $i; done\necho $i > last");
    const s = startSupervisor(bin('runsv'), [dir]);
    try {
      await killRepeatedly(dir);
      run(bin('sv'), ['down', dir]);
      await until('the producer stopped', () => read(path.join(dir, 'last')).trim() !== '');
      const last = Number(read(path.join(dir, 'last')));
      await until('the last line logged', () => logPid(dir) > 0 && read(path.join(dir, 'log/main/current')).endsWith(`\n${last}\n`), 30000);
      const { missing, twice } = tally(dir, last);
      assert.deepEqual(missing.slice(0, 10), [], `${missing.length} of ${last} lines lost`);
      assert.ok(twice <= KILLS * ROUND / 2, `${twice} lines twice`);
    } finally {
      reap([logPid(dir)]);
      await stopSupervisor(s);
    }
  });

  it('loses no line of a service writing 4 KB blocks that cut lines (stdio)', async () => {
    const N = 5_000_000;
    // seq's own 4 KB writes, 10,000 lines at a time, paced so that the kills fall inside
    const dir = service(`i=1\nwhile [ $i -le ${N} ]; do seq $i $((i+9999)); i=$((i+10000)); sleep 0.02; done\nexec sleep 1000`);
    const s = startSupervisor(bin('runsv'), [dir]);
    const done = (): boolean => tail(path.join(dir, 'log/main/current')).endsWith(`\n${N}\n`);
    try {
      const kills = await killRepeatedly(dir, done);
      assert.ok(kills >= 4, `killed ${kills} times before the end`);
      await until('the last line logged', () => logPid(dir) > 0 && done(), 60000);
      const { missing, twice } = tally(dir, N);
      assert.deepEqual(missing.slice(0, 10), [], `${missing.length} of ${N} lines lost`);
      assert.ok(twice <= KILLS * ROUND / 2, `${twice} lines twice`);
    } finally {
      reap([logPid(dir)]);
      await stopSupervisor(s);
    }
  });
});
