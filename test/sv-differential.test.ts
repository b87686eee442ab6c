// The same scenarios against the reference runit and against ours, in every
// pairing of sv and runsv: reference sv driving our runsv, our sv driving the
// reference runsv, and ours alone must all print what runit alone prints, and
// leave the same files in supervise/.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import * as status from '../src/supervise/status.js';
import {
  bin, noRef, normalize, read, ref, run, script, sleep, startSupervisor, stopAll, stopSupervisor, tmpdir, until,
} from './helpers.js';

after(stopAll);

interface Pair { name: string; sv: string; runsv: string }
const pairs = (): Pair[] => [
  { name: 'runit', sv: ref('sv')!, runsv: ref('runsv')! },
  { name: 'ours', sv: bin('sv'), runsv: bin('runsv') },
  { name: 'runit sv -> our runsv', sv: ref('sv')!, runsv: bin('runsv') },
  { name: 'our sv -> runit runsv', sv: bin('sv'), runsv: ref('runsv')! },
];

/** Something done between sv calls, not in the transcript: waiting for a condition. */
type Action = (dir: string) => Promise<void> | void;

/** A step: sv arguments (the service is appended), a pause in ms, or an action. */
type Step = string[] | number | Action;

interface Fixture {
  files: Record<string, string>; // path -> script body ('' = empty plain file)
  collect?: string[]; // files the service writes, compared at the end
  release?: string; // a file created before runsv is stopped (lets a waiting ./finish end)
}

const record = (dir: string): status.Status => status.read(path.join(dir, 'supervise'));

/** Wait until the service's status record satisfies `ok` (no fixed pause: a loaded machine may be slow). */
const reach = (what: string, ok: (s: status.Status) => boolean): Action =>
  (dir) => until(what, () => ok(record(dir)));
const isRun = reach('run', (s) => s.state === status.STATE.run);
const isDown = reach('down', (s) => s.state === status.STATE.down);
// runit's runsv writes a record between ./run's end and ./finish's start (state
// finish, no pid yet): a finish is the one with ./finish's pid
const finishing = (s: status.Status): boolean => s.state === status.STATE.finish && s.pid !== 0;
const isFinish = reach('finish', finishing);

/** Wait until ./run has exec'd its sleep: it is past the traps it sets first. */
const execdSleep: Action = (dir) => until('./run exec\'d sleep', () => {
  const { pid } = record(dir);
  return pid > 0 && fs.readFileSync(`/proc/${pid}/comm`, 'utf8') === 'sleep\n';
});

/** Wait until `file` has `line` as a line `n` times (a ./run notes it once its traps are set). */
const noted = (file: string, line: string, n: number): Action =>
  (dir) => until(`${line} noted ${n} times in ${file}`, () => read(path.join(dir, file)).split('\n').filter((l) => l === line).length >= n);

/** Create `go`: a ./finish that waits for it ends (and removes it). */
const release: Action = (dir) => fs.writeFileSync(path.join(dir, 'go'), '');
/** A ./finish that stays in the finish state until `release`, however slow the machine. */
const waitingFinish = 'echo "$@" >> finish.log; while [ ! -e go ]; do sleep 0.05; done; rm -f go';

/** What a scenario leaves behind, normalized: sv transcripts and supervise/ files. */
async function play(pair: Pair, fx: Fixture, steps: Step[], withRunsv = true): Promise<string[]> {
  const base = tmpdir('runit-diff-');
  const dir = path.join(base, 'svc');
  fs.mkdirSync(dir);
  for (const [f, body] of Object.entries(fx.files)) {
    if (body === '') { fs.mkdirSync(path.dirname(path.join(dir, f)), { recursive: true }); fs.writeFileSync(path.join(dir, f), ''); }
    else script(path.join(dir, f), body);
  }
  const hasLog = fs.existsSync(path.join(dir, 'log'));
  const transcript: string[] = [];
  const s = withRunsv ? startSupervisor(pair.runsv, ['svc'], base) : null;
  try {
    if (s) {
      await until('supervise/status', () => fs.existsSync(path.join(dir, 'supervise/status')) &&
        (!hasLog || fs.existsSync(path.join(dir, 'log/supervise/status'))));
      await sleep(300);
    }
    for (const step of steps) {
      if (typeof step === 'number') { await sleep(step); continue; }
      if (typeof step === 'function') { await step(dir); continue; }
      const r = run(pair.sv, [...step, './svc'], { cwd: base });
      transcript.push(`$ sv ${step.join(' ')} => ${r.code}\n${normalize(r.out)}${normalize(r.err)}`);
    }
    if (s) {
      // a status being written (X.new, then renamed) is finished first
      const sups = [dir, ...(hasLog ? [path.join(dir, 'log')] : [])].map((d) => path.join(d, 'supervise'));
      // (a listing is taken again if one comes in the middle of a write)
      let files: string[] = [];
      await until('no write in progress', () => {
        if (sups.some((d) => fs.readdirSync(d).some((n) => n.endsWith('.new')))) return false;
        files = [...superviseFiles(dir), ...(hasLog ? superviseFiles(path.join(dir, 'log')) : [])];
        return !files.some((l) => /^\S+\.new /.test(l));
      });
      transcript.push(...files);
    }
    for (const f of fx.collect ?? []) {
      let text = '(missing)';
      try { text = fs.readFileSync(path.join(dir, f), 'utf8'); } catch { /* stays missing */ }
      transcript.push(`${f}:\n${text}`);
    }
  } finally {
    if (fx.release) fs.writeFileSync(path.join(dir, fx.release), '');
    if (s) await stopSupervisor(s);
  }
  return transcript;
}

function superviseFiles(dir: string): string[] {
  const sup = path.join(dir, 'supervise');
  // runit's files, exactly; our runsv adds supervise/record and supervise/ready
  // (runsv(8), README "Beyond runit"), which runit's sv and tools never open
  const names = fs.readdirSync(sup).filter((n) => n !== 'record' && n !== 'ready').sort();
  const out = names.map((n) => {
    const st = fs.lstatSync(path.join(sup, n));
    const type = st.isFIFO() ? 'fifo' : st.isFile() ? 'file' : 'other';
    return `${n} ${type} ${(st.mode & 0o777).toString(8)}`;
  });
  const s = status.read(sup);
  out.push(`status: state=${s.state} pid=${s.pid ? 'yes' : 'no'} paused=${s.paused} want=${s.want} term=${s.term}`);
  out.push(`stat: ${fs.readFileSync(path.join(sup, 'stat'), 'utf8').trim()}`);
  const pid = fs.existsSync(path.join(sup, 'pid')) ? fs.readFileSync(path.join(sup, 'pid'), 'utf8') : null;
  out.push(`pid: ${pid === null ? 'missing' : pid === '' ? 'empty' : 'a pid'}`);
  return out;
}

async function compare(fx: Fixture, steps: Step[], withRunsv = true): Promise<void> {
  // The four pairings run side by side, each in its own directory.
  const [want, ...got] = await Promise.all(pairs().map((p) => play(p, fx, steps, withRunsv)));
  pairs().slice(1).forEach((p, i) => assert.deepEqual(got[i], want, `${p.name} differs from runit`));
}

// sleep ignoring the signals sv can send, so that only term and kill end it
const daemon = { 'run': 'echo started; trap "" HUP ALRM INT QUIT USR1 USR2; exec sleep 1000' };
const logged = { ...daemon, 'log/run': 'exec cat > /dev/null' };

describe('differential: sv and runsv against runit', { skip: noRef }, () => {
  it('status, down, up, once with a log service', async () => {
    await compare({ files: logged }, [
      ['status'], ['-v', 'down'], ['status'], 1100, ['-v', 'up'], ['status'],
      1100, ['once'], 500, reach('run, want down', (s) => s.state === status.STATE.run && s.want === 'd'), ['status'],
      ['-v', 'down'], ['status'],
    ]);
  });

  it('pause, cont, signals and term', async () => {
    await compare({ files: daemon }, [
      // the signals below must find the traps set
      execdSleep, ['pause'], 500, reach('paused', (s) => s.paused), ['status'], ['-v', 'cont'], ['status'],
      ['hup'], ['alarm'], ['interrupt'], ['quit'],
      ['1'], ['2'], 500, ['status'], 1100, ['-v', 'term'], 1100, ['status'], ['-v', 'kill'], 1100, ['status'],
      ['pause'], 500, ['down'], 500, isDown, ['status'],
    ]);
  });

  it('a normally-down service and the LSB actions', async () => {
    await compare({ files: { ...daemon, down: '' } }, [
      ['status'], ['start'], ['status'], ['stop'], ['status'], 1100, ['restart'], ['status'],
      // reload's HUP must find the trap the restarted ./run sets
      1100, ['try-restart'], 1100, execdSleep, ['reload'], ['check'], 1100, ['force-restart'], 1100, ['force-reload'],
      1100, ['force-stop'], ['status'], ['try-restart'], ['check'],
    ]);
  });

  it('timeouts: a service that ignores TERM', async () => {
    await compare({ files: { run: 'trap "" TERM; exec sleep 1000' } }, [
      execdSleep, ['-w', '1', 'stop'], ['status'], ['-w', '1', 'force-stop'], 500, isDown, ['status'],
    ]);
  });

  it('./check decides when a service is up', async () => {
    await compare({ files: { ...daemon, check: 'test -e ready' } }, [
      1100, ['-w', '1', 'restart'], ['status'], ['-w', '1', 'check'],
    ]);
  });

  it('./finish gets the exit code and signal; status shows finish', async () => {
    // ./finish waits to be released: `status` sees it running whatever the load
    await compare({
      files: { run: 'exec sleep 1000', finish: waitingFinish },
      collect: ['finish.log'],
      release: 'go',
    }, [
      1100, ['term'], isFinish, ['status'], release, isRun, 1100, ['kill'], isFinish, ['status'], release, isRun,
      ['down'], reach('finish, want down', (s) => finishing(s) && s.want === 'd'), ['status'],
    ]);
  });

  it('./finish sees a core dump in its second argument (128 + signal)', async () => {
    // kernel.core_pattern is `core` on these machines: the core lands in the service directory
    await compare({
      files: { run: 'ulimit -c unlimited; exec sleep 1000', finish: waitingFinish },
      collect: ['finish.log'],
      release: 'go',
    }, [1100, ['quit'], isFinish, ['down'], reach('finish, want down', (s) => finishing(s) && s.want === 'd')]);
  });

  it('custom control scripts', async () => {
    const note = (what: string): string => `echo ${what} >> events`;
    await compare({
      files: {
        // `run` is noted once the traps are set; TERM is noted only after
        // control-d (run right after TERM is sent), so the order holds whatever the load
        run: `trap "${note('HUP')}" HUP; trap "until grep -qx control-d events; do sleep 0.05; done; ${note('TERM')}; exit 0" TERM; ${note('run')}; while :; do sleep 0.1; done`,
        'control/u': `${note('control-u')}`,
        'control/h': `${note('control-h')}; exit 0`,
        'control/a': `${note('control-a')}; exit 1`,
        'control/t': `${note('control-t')}; exit 1`,
        'control/d': `${note('control-d')}`,
      },
      collect: ['events'],
    }, [
      // runs older than a second only: runit's runsv sleeps (deaf to commands) before a quick restart
      noted('events', 'run', 1), 1100, ['hup'], 500, ['alarm'], noted('events', 'run', 2), 1500, ['down'], 800, isDown, ['status'],
      ['hup'], 500, ['up'], noted('events', 'run', 3), isRun, ['status'],
    ]);
  });

  it('log/supervise/pid appears once the log service is first started', async () => {
    const logDown = { files: { ...logged, 'log/down': '' } };
    await compare(logDown, [['status']]);
    await compare({ files: { ...logged, down: '', 'log/down': '' } }, [['status']]);
    await compare({ files: { ...logged, down: '' } }, [['status']]);
    const logUp: Action = (dir) => fs.writeFileSync(path.join(dir, 'log/supervise/control'), 'u');
    const logRuns: Action = (dir) => until('log runs', () => status.read(path.join(dir, 'log/supervise')).pid !== 0);
    await compare(logDown, [['status'], logUp, logRuns, ['status']]);
  });

  it('exit and shutdown', async () => {
    await compare({ files: logged }, [['shutdown'], ['status']]);
    await compare({ files: daemon }, [['-v', 'exit'], ['status'], ['down']]);
  });

  it('exit, shutdown and their force- and one-letter forms with no runsv: ok, success', async () => {
    // supervise/ left by a runsv (runit's and ours) that has exited; one never supervised
    const base = tmpdir();
    for (const [name, who] of [['theirs', ref('runsv')!], ['ours', bin('runsv')]] as const) {
      const dir = path.join(base, name);
      script(path.join(dir, 'run'), 'exec sleep 1000');
      const s = startSupervisor(who, [dir]);
      await until('supervised', () => fs.existsSync(path.join(dir, 'supervise/status')));
      process.kill(s.pid, 'SIGTERM');
      assert.equal(await s.exited, 0);
      await stopSupervisor(s);
    }
    script(path.join(base, 'never/run'), 'exec sleep 1000');
    const names = ['./theirs', './ours', './never', './none'];
    for (const cmd of ['exit', 'x', 'e', 'shutdown', 'force-shutdown', 'X', 'E', 'down', 'status']) {
      for (const args of [[cmd], ['-v', cmd], ['-w', '1', cmd]]) {
        const a = run(ref('sv')!, [...args, ...names], { cwd: base });
        const b = run(bin('sv'), [...args, ...names], { cwd: base });
        assert.deepEqual(b, a, `sv ${args.join(' ')}`);
      }
    }
  });

  it('no runsv, no directory, bad usage', async () => {
    await compare({ files: daemon }, [['status'], ['up'], ['-v', 'down']], false);
    const base = tmpdir();
    for (const args of [[], ['status'], ['frobnicate', './x'], ['-z', 'status', './x'], ['-w'], ['status', base + '/none']]) {
      const a = run(ref('sv')!, args);
      const b = run(bin('sv'), args);
      assert.deepEqual({ ...b, out: normalize(b.out) }, { ...a, out: normalize(a.out) }, `sv ${args.join(' ')}`);
    }
  });
});
