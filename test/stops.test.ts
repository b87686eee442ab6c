// Clean stops and crash loops (issue 13): s6's down-signal, timeout-kill,
// flag-timeout-killpg, timeout-finish, ./finish's pgid argument and exit 125,
// and ./backoff, over a real runsv. supervise/record is read through its module.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import * as record from '../src/supervise/record.js';
import * as status from '../src/supervise/status.js';
import { alive, bin, read, reap, run, script, startSupervisor, stopAll, tmpdir, until } from './helpers.js';

after(stopAll);

const runsv = bin('runsv');
const sv = bin('sv');
const st = (dir: string): status.Status => status.read(path.join(dir, 'supervise'));
const rec = (dir: string): record.Record | null => record.read(path.join(dir, 'supervise'));

function service(files: Record<string, string>, plain: Record<string, string> = {}): string {
  const dir = path.join(tmpdir(), 'svc');
  for (const [f, body] of Object.entries(files)) script(path.join(dir, f), body);
  for (const [f, body] of Object.entries(plain)) fs.writeFileSync(path.join(dir, f), body);
  return dir;
}

describe('clean stops', () => {
  it('down-signal: sv down sends that signal instead of TERM', async () => {
    const dir = service({ run: 'trap "echo hup > got; exit 0" HUP; trap "echo term > got; exit 0" TERM; while :; do sleep 0.05; done' },
      { 'down-signal': 'SIGHUP\n' });
    startSupervisor(runsv, [dir]);
    await until('run', () => st(dir).state === status.STATE.run);
    assert.equal(run(sv, ['-w', '30', 'down', dir]).code, 0);
    assert.equal(read(path.join(dir, 'got')), 'hup\n');
    assert.equal(read(path.join(dir, 'supervise/stat')), 'down\n');
  });

  it('without down-signal, TERM as runit (and HUP, hup, 1 all name SIGHUP)', async () => {
    const { signalNamed } = await import('../src/supervise/servicedir.js');
    for (const t of ['SIGHUP', 'HUP', 'hup', '1']) assert.equal(signalNamed(t), 'SIGHUP');
    assert.equal(signalNamed('NOPE'), null);
    const dir = service({ run: 'trap "echo term > got; exit 0" TERM; while :; do sleep 0.05; done' });
    startSupervisor(runsv, [dir]);
    await until('run', () => st(dir).state === status.STATE.run);
    assert.equal(run(sv, ['-w', '30', 'down', dir]).code, 0);
    assert.equal(read(path.join(dir, 'got')), 'term\n');
  });

  it('timeout-kill: a ./run that ignores TERM gets KILL', async () => {
    const dir = service({ run: "trap '' TERM; exec sleep 1000" }, { 'timeout-kill': '200\n' });
    startSupervisor(runsv, [dir]);
    await until('run', () => st(dir).state === status.STATE.run);
    const pid = st(dir).pid;
    assert.equal(run(sv, ['-w', '30', 'down', dir]).code, 0);
    assert.ok(!alive(pid));
    assert.equal(rec(dir)?.exitSignal, 9);
  });

  it('flag-timeout-killpg: the KILL takes the forked child too; ./finish gets the name and the process group', async () => {
    const dir = service({
      run: "trap '' TERM; sleep 1000 & echo $! > child; wait",
      finish: 'echo "$@" > finished',
    }, { 'timeout-kill': '200\n', 'flag-timeout-killpg': '' });
    startSupervisor(runsv, [dir]);
    // (./run can write it before runsv has written its status)
    await until('child', () => read(path.join(dir, 'child')) !== '' && st(dir).state === status.STATE.run);
    const pid = st(dir).pid;
    const child = Number(read(path.join(dir, 'child')));
    assert.ok(alive(child));
    assert.equal(run(sv, ['-w', '30', 'down', dir]).code, 0);
    await until('child gone', () => !alive(child));
    await until('finished', () => read(path.join(dir, 'finished')) !== '');
    assert.equal(read(path.join(dir, 'finished')), `-1 9 svc ${pid}\n`);
  });

  it('without flag-timeout-killpg the KILL is for ./run alone, and ./finish gets runit\'s two arguments', async () => {
    const dir = service({
      run: "trap '' TERM; sleep 1000 & echo $! > child; wait",
      finish: 'echo "$@" > finished',
    }, { 'timeout-kill': '200\n' });
    startSupervisor(runsv, [dir]);
    // (./run can write it before runsv has written its status)
    await until('child', () => read(path.join(dir, 'child')) !== '' && st(dir).state === status.STATE.run);
    const child = Number(read(path.join(dir, 'child')));
    try {
      assert.equal(run(sv, ['-w', '30', 'down', dir]).code, 0);
      await until('finished', () => read(path.join(dir, 'finished')) !== '');
      assert.equal(read(path.join(dir, 'finished')), '-1 9\n');
      assert.ok(alive(child), 'the child was not in the KILL');
    } finally {
      reap([child]);
    }
  });

  it('timeout-finish: a ./finish still running after it is killed', async () => {
    const dir = service({ run: 'exec sleep 1000', finish: 'echo $$ > finishpid; exec sleep 1000' }, { 'timeout-finish': '200\n' });
    startSupervisor(runsv, [dir]);
    await until('run', () => st(dir).state === status.STATE.run);
    assert.equal(run(sv, ['-w', '30', 'down', dir]).code, 0);
    const fp = Number(read(path.join(dir, 'finishpid')));
    assert.ok(fp > 0 && !alive(fp));
    assert.equal(st(dir).state, status.STATE.down);
  });

  it('./finish exiting 125 is a permanent failure: not restarted until told up', async () => {
    const dir = service({ run: 'echo x >> runs; exit 1', finish: '[ -e ok ] && exit 0; exit 125' });
    startSupervisor(runsv, [dir]);
    await until('permanent', () => rec(dir)?.permanent === true && st(dir).state === status.STATE.down);
    assert.equal(st(dir).want, 'd');
    assert.equal(read(path.join(dir, 'runs')), 'x\n');
    assert.match(run(sv, ['status', dir]).out, /^down: .*: \d+s, normally up$/m);
    fs.writeFileSync(path.join(dir, 'ok'), '');
    assert.equal(run(sv, ['up', dir]).code, 0);
    await until('started again', () => read(path.join(dir, 'runs')) === 'x\nx\n');
    await until('not permanent', () => rec(dir)?.permanent === false);
    assert.equal(rec(dir)?.exitCode, 1);
  });
});

describe('crash loops', () => {
  it('backoff: the wait doubles from a second up to the maximum, and a ready run resets it', { timeout: 60000 }, async () => {
    const dir = service({ run: 'date +%s%N >> starts; if [ -e ok ]; then echo >&5; sleep 0.3; fi; exit 1' },
      { backoff: '4000\n', 'notification-fd': '5\n' });
    startSupervisor(runsv, [dir]);
    // ./run's own record of its starts, in ms
    const starts = (): number[] => read(path.join(dir, 'starts')).trim().split('\n').filter(Boolean).map((t) => Number(t) / 1e6);
    // the wait before each start, as the supervisor records it (supervise/record)
    const waits: number[] = [];
    let seen = 0;
    const look = (n: number) => (): boolean => {
      const r = rec(dir);
      if (r && r.nextStart !== null && r.startedAt !== null && r.starts > seen) {
        waits.push(Math.round((r.nextStart - r.startedAt) * 1000));
        seen = r.starts;
      }
      return waits.length >= n;
    };
    await until('four waits recorded', look(4), 40000);
    assert.deepEqual(waits, [1000, 2000, 4000, 4000]);
    await until('five starts', () => starts().length >= 5, 20000);
    const s = starts();
    for (let i = 0; i < 4; i++) {
      // never sooner than the wait (give or take ./run's own start-up before its date)
      assert.ok(s[i + 1]! - s[i]! >= waits[i]! - 150, `start ${i + 2} came ${s[i + 1]! - s[i]!} ms after start ${i + 1}`);
    }
    fs.writeFileSync(path.join(dir, 'ok'), '');
    await until('a ready run', () => fs.existsSync(path.join(dir, 'supervise/ready')), 20000);
    const before = waits.length;
    await until('the wait after it', look(before + 1), 20000);
    assert.equal(waits.at(-1), 1000, 'a run that became ready resets the backoff');
  });

  it('supervise/record counts starts and keeps the last exit code', async () => {
    const dir = service({ run: 'n=$(cat n 2>/dev/null || echo 0); n=$((n + 1)); echo $n > n; [ $n -ge 3 ] && exec sleep 1000; exit $((n + 40))' });
    startSupervisor(runsv, [dir]);
    await until('third start', () => rec(dir)?.starts === 3 && st(dir).state === status.STATE.run);
    const r = rec(dir)!;
    assert.equal(r.exitCode, 42);
    assert.equal(r.exitSignal, null);
    assert.ok(r.exitedAt !== null && r.exitedAt <= Date.now() / 1000);
    assert.equal(r.permanent, false);
    run(sv, ['k', dir]);
    await until('killed, restarted', () => rec(dir)?.starts === 4);
    assert.equal(rec(dir)!.exitSignal, 9);
    assert.equal(rec(dir)!.exitCode, null);
  });
});
