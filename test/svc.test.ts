// svc and svok (BusyBox's, named after daemontools' programs), over real
// supervisors: ours alone (BusyBox's order of options, sv's lookup, exit
// codes), and against daemontools' svc, svok and svstat, which speak the same
// supervise/ protocol: theirs driving our runsv, ours driving runit's, and
// ours answering as theirs where BusyBox and daemontools agree.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import * as status from '../src/supervise/status.js';
import { bin, noRef, ref, run, script, startSupervisor, stopAll, stopSupervisor, tmpdir, until, type Supervisor } from './helpers.js';

after(stopAll);

const svc = bin('svc');
const svok = bin('svok');
const dt = { svc: '/usr/bin/svc', svok: '/usr/bin/svok', svstat: '/usr/bin/svstat' };
const noDaemontools = Object.values(dt).every((p) => fs.existsSync(p)) ? false
  : 'daemontools not installed (apt-get install daemontools)';

const record = (dir: string): status.Status => status.read(path.join(dir, 'supervise'));

async function supervised(runsv: string, base: string, name = 'svc', run = 'exec sleep 1000'): Promise<{ dir: string; s: Supervisor }> {
  const dir = path.join(base, name);
  script(path.join(dir, 'run'), run);
  const s = startSupervisor(runsv, [dir]);
  await until(`${name} runs`, () => record(dir).state === status.STATE.run);
  return { dir, s };
}

describe('svc', () => {
  it('sends each option\'s command to each service, in BusyBox\'s order, and exits 0', async () => {
    const base = tmpdir();
    const a = await supervised(bin('runsv'), base, 'a');
    const b = await supervised(bin('runsv'), base, 'b');
    // -u after -d on the command line: BusyBox sends u first, then d, so both end down
    let r = run(svc, ['-u', '-d', './a', './b'], { cwd: base });
    assert.deepEqual([r.code, r.out, r.err], [0, '', '']);
    await until('both down', () => [a.dir, b.dir].every((d) => record(d).pid === 0));
    assert.equal(record(a.dir).want, 'd');
    r = run(svc, ['-u', './a'], { cwd: base });
    await until('a up', () => record(a.dir).pid !== 0 && record(a.dir).want === 'u');
    r = run(svc, ['-du', './a'], { cwd: base }); // bundled, same order: u, then d
    assert.equal(r.code, 0);
    await until('a down again', () => record(a.dir).pid === 0);
    assert.equal(record(a.dir).want, 'd');
    r = run(svc, ['-o', './a'], { cwd: base });
    await until('a runs once', () => record(a.dir).pid !== 0 && record(a.dir).want === 'd');
    r = run(svc, ['-p', './a'], { cwd: base });
    await until('a paused', () => record(a.dir).paused);
    r = run(svc, ['-c', './a'], { cwd: base });
    await until('a continued', () => !record(a.dir).paused);
    const pid = record(a.dir).pid;
    r = run(svc, ['-k', './a'], { cwd: base });
    await until('killed (and not restarted: want down)', () => record(a.dir).pid === 0);
    assert.notEqual(pid, 0);
    // x comes last whatever the order given: up, then exit
    r = run(svc, ['-xu', './b'], { cwd: base });
    assert.equal(r.code, 0);
    assert.equal(await b.s.exited, 0, 'runsv b told to exit');
    await stopSupervisor(a.s);
  });

  it('finds bare names in $SVDIR, as sv does', async () => {
    const base = tmpdir();
    const a = await supervised(bin('runsv'), base, 'web');
    const r = run(svc, ['-d', 'web'], { env: { ...process.env, SVDIR: base } });
    assert.deepEqual([r.code, r.out], [0, '']);
    await until('web down', () => record(a.dir).pid === 0);
    const none = run(svc, ['-d', 'web'], { env: { ...process.env, SVDIR: path.join(base, 'nowhere') } });
    assert.equal(none.code, 1);
    assert.equal(none.out, 'fail: web: unable to change to service directory: file does not exist\n');
    await stopSupervisor(a.s);
  });

  it('exits 1 at the first command that fails for a service, in sv\'s words', async () => {
    const base = tmpdir();
    const a = await supervised(bin('runsv'), base, 'a');
    fs.mkdirSync(path.join(base, 'idle'));
    // u fails for ./idle (no runsv): x is never sent, a keeps its supervisor
    const r = run(svc, ['-u', '-x', './a', './idle', './missing'], { cwd: base });
    assert.equal(r.code, 1);
    assert.equal(r.out, 'warning: ./idle: unable to open supervise/ok: file does not exist\n'
      + 'fail: ./missing: unable to change to service directory: file does not exist\n');
    // a later command, once carried out, shows that no x came before it (runsv reads them in order)
    fs.writeFileSync(path.join(a.dir, 'supervise/control'), 'p');
    await until('a paused', () => record(a.dir).paused);
    assert.equal(record(a.dir).want, 'u', 'no x was sent');
    assert.equal(a.s.child.exitCode, null, 'runsv a still runs');
    // exit with no runsv is no failure (as sv exit)
    process.kill(a.s.pid, 'SIGTERM');
    await a.s.exited;
    const x = run(svc, ['-x', './a'], { cwd: base });
    assert.deepEqual([x.code, x.out], [0, 'ok: ./a: runsv not running\n']);
    const d = run(svc, ['-d', './a'], { cwd: base });
    assert.deepEqual([d.code, d.out], [1, 'fail: ./a: runsv not running\n']);
    await stopSupervisor(a.s);
  });

  it('no option, no service or a bad option is a usage error (100)', () => {
    for (const args of [[], ['./x'], ['-u'], ['-z', './x'], ['-v', './x']]) {
      const r = run(svc, args);
      assert.equal(r.code, 100, `svc ${args.join(' ')}`);
      assert.match(r.err, /usage: svc \[-udopchaitkx\] service \.\.\.\n\n$/);
    }
    assert.equal(run(svc, ['-z', './x']).err.split('\n')[0], 'svc: illegal option -- z');
  });
});

describe('svok', () => {
  it('exits 0 with a supervisor, 100 without, 111 without the directory', async () => {
    const base = tmpdir();
    const a = await supervised(bin('runsv'), base, 'a');
    fs.mkdirSync(path.join(base, 'idle'));
    fs.writeFileSync(path.join(base, 'file'), '');
    assert.deepEqual(run(svok, ['./a'], { cwd: base }), { out: '', err: '', code: 0 });
    assert.equal(run(svok, ['a'], { env: { ...process.env, SVDIR: base } }).code, 0, '$SVDIR');
    assert.deepEqual(run(svok, ['./idle'], { cwd: base }), { out: '', err: '', code: 100 });
    assert.deepEqual(run(svok, ['./none'], { cwd: base }),
      { out: '', err: 'svok: fatal: unable to chdir to ./none: file does not exist\n', code: 111 });
    assert.equal(run(svok, ['./file'], { cwd: base }).code, 111);
    assert.deepEqual(run(svok, []), { out: '', err: 'svok: usage: svok dir\n', code: 100 });
    process.kill(a.s.pid, 'SIGTERM');
    await a.s.exited;
    assert.equal(run(svok, ['./a'], { cwd: base }).code, 100, 'runsv gone: its ok FIFO has no reader');
    await stopSupervisor(a.s);
  });
});

describe('svc, svok and svstat: daemontools\' and ours, with runit\'s runsv and ours', { skip: noDaemontools || noRef }, () => {
  const svstat = (dir: string): string => {
    const r = run(dt.svstat, [dir]);
    return `${r.code} ${r.out.split(dir).join('DIR').replace(/\(pid \d+\)/g, '(pid N)').replace(/ \d+ seconds/g, ' N seconds')}${r.err}`;
  };

  async function play(svcProg: string, svokProg: string, runsv: string): Promise<string[]> {
    const base = tmpdir();
    // HUP is ignored, so that -h leaves it running: no race with a restart
    const { dir, s } = await supervised(runsv, base, 'svc', 'trap "" HUP; exec sleep 1000');
    const out: string[] = [];
    const step = async (opt: string, what: string, ok: (st: status.Status) => boolean): Promise<void> => {
      const r = run(svcProg, [opt, dir]);
      await until(what, () => ok(record(dir)));
      out.push(`svc ${opt} => ${r.code} ${r.out}${r.err}`, svstat(dir));
    };
    out.push(svstat(dir), `svok => ${run(svokProg, [dir]).code}`);
    await step('-d', 'down', (st) => st.pid === 0);
    await step('-o', 'once', (st) => st.pid !== 0 && st.want === 'd');
    await step('-p', 'paused', (st) => st.paused);
    await step('-c', 'continued', (st) => !st.paused);
    await step('-u', 'wanted up', (st) => st.want === 'u' && st.pid !== 0);
    const before = record(dir).pid;
    await step('-t', 'restarted', (st) => st.pid !== 0 && st.pid !== before);
    await step('-h', 'sent', () => true);
    const r = run(svcProg, ['-x', dir]);
    out.push(`svc -x => ${r.code} ${r.out}${r.err}`, `runsv exits ${await s.exited}`);
    out.push(`svok => ${run(svokProg, [dir]).code}`, svstat(dir));
    await stopSupervisor(s);
    return out;
  }

  it('the same steps, the same answers in every pairing', async () => {
    const want = await play(dt.svc, dt.svok, ref('runsv')!);
    assert.deepEqual(await play(dt.svc, dt.svok, bin('runsv')), want, 'daemontools\' svc and svok driving our runsv');
    assert.deepEqual(await play(svc, svok, ref('runsv')!), want, 'our svc and svok driving runit\'s runsv');
    assert.deepEqual(await play(svc, svok, bin('runsv')), want, 'ours alone');
  });

  it('svok answers as daemontools\' does', async () => {
    const base = tmpdir();
    const { s } = await supervised(bin('runsv'), base, 'a');
    fs.mkdirSync(path.join(base, 'idle'));
    fs.writeFileSync(path.join(base, 'file'), '');
    fs.mkdirSync(path.join(base, 'odd/supervise'), { recursive: true });
    fs.writeFileSync(path.join(base, 'odd/supervise/ok'), ''); // a plain file: opens, no supervisor check
    for (const args of [[], ['./a'], ['./idle'], ['./none'], ['./file'], ['./a', 'extra'], ['']]) {
      assert.deepEqual(run(svok, args, { cwd: base }), run(dt.svok, args, { cwd: base }), `svok ${args.join(' ')}`);
    }
    await stopSupervisor(s);
  });

  it('svc: silent success, and the illegal option message, as daemontools\' svc', async () => {
    const base = tmpdir();
    const { dir, s } = await supervised(bin('runsv'), base, 'a');
    const a = run(dt.svc, ['-h', dir]);
    const b = run(svc, ['-h', dir]);
    assert.deepEqual(b, a);
    assert.equal(run(svc, ['-z', dir]).code, run(dt.svc, ['-z', dir]).code, 'exit 100');
    assert.equal(run(svc, ['-z', dir]).err.split('\n')[0], run(dt.svc, ['-z', dir]).err.split('\n')[0]);
    await stopSupervisor(s);
  });
});
