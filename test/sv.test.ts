// sv over real supervisors: what the differential tests cannot cover (our own
// commands, SVDIR, SVWAIT, LSB mode, exit-code arithmetic).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import * as status from '../src/supervise/status.js';
import {
  bin, execd, normalize, run, script, startSupervisor, stopAll, stopSupervisor, tmpdir, until,
} from './helpers.js';

after(stopAll);

const sv = bin('sv');

const isDir = (p: string): boolean => { try { return fs.statSync(p).isDirectory(); } catch { return false; } };

async function supervised(base: string, name: string, runBody = 'exec sleep 1000', extra: Record<string, string> = {}) {
  const dir = path.join(base, name);
  script(path.join(dir, 'run'), runBody);
  for (const [f, body] of Object.entries(extra)) {
    if (body === '') fs.writeFileSync(path.join(dir, f), '');
    else script(path.join(dir, f), body);
  }
  const s = startSupervisor(bin('runsv'), [dir]);
  await until(`${name} supervised`, () => fs.existsSync(path.join(dir, 'supervise/status')) &&
    (!isDir(path.join(dir, 'log')) || fs.existsSync(path.join(dir, 'log/supervise/status'))));
  if (!fs.existsSync(path.join(dir, 'down'))) {
    await until(`${name} up`, () => status.read(path.join(dir, 'supervise')).state === status.STATE.run);
  }
  return { dir, s };
}

describe('sv', () => {
  it('finds bare names in $SVDIR, paths relative to the current directory', async () => {
    const base = tmpdir();
    const { s } = await supervised(base, 'web');
    const env = { ...process.env, SVDIR: base };
    const r = run(sv, ['status', 'web'], { env });
    assert.equal(r.code, 0);
    assert.match(r.out, /^run: web: \(pid \d+\) \d+s\n$/);
    assert.match(run(sv, ['status', './web'], { cwd: base }).out, /^run: \.\/web: \(pid \d+\)/);
    assert.match(run(sv, ['status', 'web/'], { cwd: base }).out, /^run: web\/: \(pid \d+\)/);
    assert.match(run(sv, ['status', path.join(base, 'web')]).out, /^run: \//);
    await stopSupervisor(s);
  });

  it('defaults to /service/ when SVDIR is unset', () => {
    const env = { ...process.env };
    delete env.SVDIR;
    const r = run(sv, ['status', 'runit-ts-no-such-service'], { env });
    assert.equal(r.out, 'fail: runit-ts-no-such-service: unable to change to service directory: file does not exist\n');
    assert.equal(r.code, 1);
  });

  it('shows the log service after a semicolon', async () => {
    const base = tmpdir();
    const dir = path.join(base, 'svc');
    script(path.join(dir, 'log/run'), 'exec cat >/dev/null');
    const { s } = await supervised(base, 'svc');
    await until('log up', () => status.read(path.join(dir, 'log/supervise')).state === status.STATE.run);
    const r = run(sv, ['status', './svc'], { cwd: base });
    assert.match(r.out, /^run: \.\/svc: \(pid \d+\) \d+s; run: log: \(pid \d+\) \d+s\n$/);
    await stopSupervisor(s);
  });

  it('counts failures in the exit code, up to 99', () => {
    const base = tmpdir();
    const names = Array.from({ length: 120 }, (_, i) => `./missing${i}`);
    assert.equal(run(sv, ['status', ...names.slice(0, 3)], { cwd: base }).code, 3);
    const r = run(sv, ['up', ...names], { cwd: base });
    assert.equal(r.code, 99);
    assert.equal(r.out.split('\n').length - 1, 120);
  });

  it('waits $SVWAIT seconds, and -w overrides it', async () => {
    const base = tmpdir();
    const { s } = await supervised(base, 'stubborn', 'trap "" TERM; exec sleep 1000');
    await execd(status.read(path.join(base, 'stubborn/supervise')).pid);
    const env = { ...process.env, SVWAIT: '1' };
    const r = run(sv, ['stop', './stubborn'], { cwd: base, env });
    assert.equal(r.code, 1);
    assert.match(r.out, /^timeout: run: \.\/stubborn: \(pid \d+\) \d+s, want down, got TERM\n$/);
    const r2 = run(sv, ['-w', '1', 'force-stop', './stubborn'], { cwd: base, env: { ...process.env, SVWAIT: '60' } });
    assert.equal(r2.code, 1);
    assert.match(r2.out, /^kill: run: \.\/stubborn: /);
    await until('killed', () => status.read(path.join(base, 'stubborn/supervise')).state === status.STATE.down);
    await stopSupervisor(s);
  });

  it('disable creates ./down and stops; enable removes it and starts', async () => {
    const base = tmpdir();
    const { dir, s } = await supervised(base, 'svc');
    let r = run(sv, ['-v', 'disable', './svc'], { cwd: base });
    assert.equal(r.code, 0);
    assert.equal(normalize(r.out), 'ok: down: ./svc: Ns\n');
    assert.ok(fs.existsSync(path.join(dir, 'down')));
    r = run(sv, ['-v', 'enable', './svc'], { cwd: base });
    assert.equal(normalize(r.out), 'ok: run: ./svc: (pid N) Ns\n');
    assert.ok(!fs.existsSync(path.join(dir, 'down')));
    r = run(sv, ['disable', './svc'], { cwd: base });
    assert.equal(r.out, '');
    await until('down', () => status.read(path.join(dir, 'supervise')).state === status.STATE.down);
    await stopSupervisor(s);
  });

  it('start and check run ./check until it passes', async () => {
    const base = tmpdir();
    const { dir, s } = await supervised(base, 'svc', 'sleep 0.3; touch ready; exec sleep 1000', { check: 'test -e ready', down: '' });
    const r = run(sv, ['start', './svc'], { cwd: base });
    assert.equal(r.code, 0);
    assert.ok(fs.existsSync(path.join(dir, 'ready')), 'sv start returned only once ./check passed');
    assert.equal(normalize(r.out), 'ok: run: ./svc: (pid N) Ns, normally down\n');
    assert.equal(run(sv, ['check', './svc'], { cwd: base }).code, 0);
    await stopSupervisor(s);
  });

  it('restart reports the new process', async () => {
    const base = tmpdir();
    const { dir, s } = await supervised(base, 'svc');
    const before = status.read(path.join(dir, 'supervise')).pid;
    const r = run(sv, ['restart', './svc'], { cwd: base });
    assert.equal(r.code, 0);
    const pid = Number(/\(pid (\d+)\)/.exec(r.out)![1]);
    assert.notEqual(pid, before);
    assert.equal(pid, status.read(path.join(dir, 'supervise')).pid);
    await stopSupervisor(s);
  });

  it('keeps ./check\'s output out of its own', async () => {
    const base = tmpdir();
    const { s } = await supervised(base, 'svc', 'exec sleep 1000', { check: 'echo check-says-hi; exit 0' });
    const r = run(sv, ['check', './svc'], { cwd: base });
    assert.equal(normalize(r.out), 'ok: run: ./svc: (pid N) Ns\n');
    await stopSupervisor(s);
  });

  it('-w 0 still looks once more before it gives up; -w takes leading digits only', async () => {
    const base = tmpdir();
    const { s } = await supervised(base, 'svc', 'exec sleep 1000', { down: '' });
    const r = run(sv, ['-w', '0', 'up', './svc'], { cwd: base });
    assert.equal(normalize(r.out), 'ok: run: ./svc: (pid N) Ns, normally down\n');
    assert.equal(r.code, 0);
    const r2 = run(sv, ['-w', ' 5', 'once', './svc'], { cwd: base });
    assert.equal(r2.code, 0, 'a bad -w is 0 seconds, as with runit');
    await stopSupervisor(s);
  });

  it('says when ./log is not a directory', async () => {
    const base = tmpdir();
    const dir = path.join(base, 'svc');
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, 'log'), 'not a dir');
    const { s } = await supervised(base, 'svc');
    const r = run(sv, ['status', './svc'], { cwd: base });
    assert.equal(normalize(r.out), 'run: ./svc: (pid N) Ns; warning: ./svc/log: unable to change directory: not a directory\n');
    assert.equal(r.code, 1);
    // written before status, but read from the pipe by this process in its own time
    await until('runsv\'s warning read', () => /warning: \.\/log: not a directory\./.test(s.stderr()));
    await stopSupervisor(s);
  });

  it('reports a bad status file in runit\'s words', async () => {
    const base = tmpdir();
    const { dir, s } = await supervised(base, 'svc');
    const sup = path.join(dir, 'supervise');
    // runsv rewrites status only on a change; truncate it behind its back
    fs.writeFileSync(path.join(sup, 'status'), 'short');
    let r = run(sv, ['status', './svc'], { cwd: base });
    assert.equal(r.out, 'warning: ./svc: unable to read supervise/status: bad format\n');
    assert.equal(r.code, 1);
    fs.rmSync(path.join(sup, 'status'));
    r = run(sv, ['status', './svc'], { cwd: base });
    assert.equal(r.out, 'warning: ./svc: unable to open supervise/status: file does not exist\n');
    await stopSupervisor(s);
  });

  it('does not crash when its output cannot be written', async () => {
    const base = tmpdir();
    const { s } = await supervised(base, 'svc');
    const r = run('sh', ['-c', `${sv} status ./svc > /dev/full`], { cwd: base });
    assert.equal(r.code, 0);
    assert.equal(r.err, '');
    await stopSupervisor(s);
  });

  it('takes runit\'s one-letter force actions, and an empty name fails', async () => {
    const base = tmpdir();
    const { s } = await supervised(base, 'svc', 'trap "" TERM; exec sleep 1000');
    await execd(status.read(path.join(base, 'svc/supervise')).pid);
    const r = run(sv, ['-w', '1', 'D', './svc'], { cwd: base });
    assert.match(r.out, /^kill: run: \.\/svc: \(pid \d+\) \d+s, want down, got TERM\n$/);
    assert.equal(r.code, 1);
    const e = run(sv, ['status', ''], { cwd: base, env: { ...process.env, SVDIR: base } });
    assert.equal(e.out, 'fail: : unable to change to service directory: file does not exist\n');
    await stopSupervisor(s);
  });

  it('usage errors exit 100', () => {
    for (const args of [[], ['status'], ['bogus', './x'], ['-q', 'status', './x'], ['-V', 'status', './x']]) {
      const r = run(sv, args);
      assert.equal(r.code, 100, `sv ${args.join(' ')}`);
      assert.match(r.err, /usage: sv \[-v\] \[-w sec\] command service \.\.\.\n/);
    }
  });

  it('a prefix of enable or disable is a usage error; e, d and other words keep runit\'s meaning', async () => {
    const base = tmpdir();
    const { dir, s } = await supervised(base, 'svc');
    const pid = status.read(path.join(dir, 'supervise')).pid;
    for (const cmd of ['en', 'ena', 'enab', 'enabl', 'di', 'dis', 'disab', 'disabl']) {
      const r = run(sv, [cmd, './svc'], { cwd: base });
      assert.equal(r.code, 100, `sv ${cmd}`);
      assert.match(r.err, /^usage: sv /, `sv ${cmd}`);
    }
    // a later command, once carried out, shows that none came before it (runsv reads them in order)
    fs.writeFileSync(path.join(dir, 'supervise/control'), 'p');
    await until('paused', () => status.read(path.join(dir, 'supervise')).paused);
    const st = status.read(path.join(dir, 'supervise'));
    assert.equal(st.pid, pid, 'still running: no command was sent');
    assert.equal(st.want, 'u');
    assert.ok(!fs.existsSync(path.join(dir, 'down')));
    // `dx` is down (first letter), `e` and `exits` are exit, as in runit
    assert.equal(run(sv, ['dx', './svc'], { cwd: base }).code, 0);
    await until('down', () => status.read(path.join(dir, 'supervise')).pid === 0);
    assert.equal(run(sv, ['exits', './svc'], { cwd: base }).code, 0);
    assert.equal(await s.exited, 0, 'runsv told to exit');
    const again = await supervised(base, 'svc');
    assert.equal(run(sv, ['e', './svc'], { cwd: base }).code, 0);
    assert.equal(await again.s.exited, 0);
  });

  describe('LSB init-script mode (another base name)', () => {
    it('status exits 0 running, 3 down, 1 without runsv, 2 on bad usage', async () => {
      const base = tmpdir();
      const link = path.join(tmpdir(), 'myapp');
      fs.symlinkSync(sv, link);
      const env = { ...process.env, SVDIR: base };
      assert.equal(run(link, ['status'], { env }).code, 1, 'no such service');
      const { dir, s } = await supervised(base, 'myapp');
      let r = run(link, ['status'], { env });
      assert.equal(r.code, 0);
      assert.match(r.out, /^run: myapp: \(pid \d+\)/);
      r = run(link, ['stop'], { env });
      assert.equal(r.code, 0);
      assert.match(r.out, /^ok: down: myapp: /);
      assert.equal(run(link, ['status'], { env }).code, 3);
      r = run(link, ['start'], { env });
      assert.equal(r.code, 0);
      r = run(link, ['frobnicate'], { env });
      assert.equal(r.code, 2);
      assert.equal(r.err, 'usage: myapp [-w sec] command\n\n');
      assert.equal(run(link, [], { env }).code, 2);
      await stopSupervisor(s);
      assert.equal(run(link, ['status'], { env }).code, 1);
      fs.rmSync(path.join(dir, 'supervise/ok'));
      assert.equal(run(link, ['status'], { env }).code, 4, 'status unknown');
    });
  });
});
