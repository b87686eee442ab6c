// runsv over real processes: man runsv, item by item.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import * as status from '../src/supervise/status.js';
import * as control from '../src/supervise/control.js';
import {
  alive, bin, execd, read, run, script, startSupervisor, stopAll, stopSupervisor, tmpdir, until,
} from './helpers.js';

after(stopAll);

const runsv = bin('runsv');
const st = (dir: string): status.Status => status.read(path.join(dir, 'supervise'));
const send = (dir: string, bytes: string): void => control.send(path.join(dir, 'supervise'), bytes);

function service(run: string, extra: Record<string, string> = {}): string {
  const dir = path.join(tmpdir(), 'svc');
  script(path.join(dir, 'run'), run);
  for (const [f, body] of Object.entries(extra)) script(path.join(dir, f), body);
  return dir;
}

describe('runsv', () => {
  it('answers on supervise/ok only once its status can be read (svok, then sv status, works)', async () => {
    for (let round = 0; round < 5; round++) {
      const dir = service('exec sleep 1000');
      script(path.join(dir, 'log/run'), 'exec cat >/dev/null');
      const sup = path.join(dir, 'supervise');
      const s = startSupervisor(runsv, [dir]);
      // the first moment it answers, looked for without pause (no event loop turn in between)
      await until('supervise/ok made', () => fs.existsSync(path.join(sup, 'ok')));
      const end = Date.now() + 15000;
      let up = false;
      while (!up && Date.now() < end) up = control.running(sup);
      assert.ok(up, 'runsv answers');
      for (const d of [sup, path.join(dir, 'log/supervise')]) {
        assert.doesNotThrow(() => status.read(d), `${d}/status readable as soon as runsv answers`);
      }
      await stopSupervisor(s);
    }
  });

  it('starts ./run and writes supervise/ as runit does', async () => {
    const dir = service('exec sleep 1000');
    const s = startSupervisor(runsv, [dir]);
    await until('run', () => st(dir).state === status.STATE.run);
    const sup = path.join(dir, 'supervise');
    assert.equal(fs.statSync(sup).mode & 0o777, 0o700);
    for (const f of ['control', 'ok']) {
      const m = fs.statSync(path.join(sup, f));
      assert.ok(m.isFIFO(), `${f} is a FIFO`);
      assert.equal(m.mode & 0o777, 0o600);
    }
    assert.ok(fs.statSync(path.join(sup, 'lock')).isFile());
    assert.equal(fs.statSync(path.join(sup, 'status')).size, 20);
    const rec = st(dir);
    assert.ok(rec.pid > 0 && alive(rec.pid));
    assert.equal(rec.want, 'u');
    assert.equal(read(path.join(sup, 'stat')), 'run\n');
    assert.equal(read(path.join(sup, 'pid')), `${rec.pid}\n`);
    await until('the pid in status is ./run, exec\'d into sleep', () =>
      /^sleep\x001000/.test(fs.readFileSync(`/proc/${rec.pid}/cmdline`, 'latin1')));
    await stopSupervisor(s);
    assert.ok(!alive(rec.pid), 'TERM to runsv takes the service down');
  });

  it('passes exit code and signal to ./finish, and restarts ./run', async () => {
    const dir = service('echo x >> runs; exit 3', { finish: 'echo "$@" >> finished' });
    const s = startSupervisor(runsv, [dir]);
    await until('two runs', () => read(path.join(dir, 'finished')).split('\n').length > 2);
    assert.equal(read(path.join(dir, 'finished')).split('\n')[0], '3 0');
    await stopSupervisor(s);

    const d2 = service('exec sleep 1000', { finish: 'echo "$@" >> finished' });
    const s2 = startSupervisor(runsv, [d2]);
    await until('run', () => st(d2).state === status.STATE.run);
    send(d2, 'k');
    await until('finish ran', () => read(path.join(d2, 'finished')) !== '');
    assert.equal(read(path.join(d2, 'finished')).split('\n')[0], '-1 9');
    await stopSupervisor(s2);
  });

  it('reports 111 0 to ./finish when ./run cannot start, and keeps trying', async () => {
    const dir = service('true', { finish: 'echo "$@" >> finished' });
    fs.chmodSync(path.join(dir, 'run'), 0o644);
    const s = startSupervisor(runsv, [dir]);
    await until('finish twice', () => read(path.join(dir, 'finished')).split('\n').length > 2);
    assert.equal(read(path.join(dir, 'finished')).split('\n')[0], '111 0');
    assert.match(s.stderr(), /runsv .*svc: fatal: unable to start \.\/run: access denied/);
    assert.ok(alive(s.pid), 'runsv keeps running');
    await stopSupervisor(s);
  });

  it('says so when ./run is missing, and starts it once it appears', async () => {
    const dir = service('true');
    fs.rmSync(path.join(dir, 'run'));
    const s = startSupervisor(runsv, [dir]);
    await until('message', () => /fatal: unable to start \.\/run: file does not exist/.test(s.stderr()));
    script(path.join(dir, 'run'), 'exec sleep 1000');
    await until('running', () => st(dir).state === status.STATE.run);
    await stopSupervisor(s);
  });

  it('x consults control/t, then runs control/x', async () => {
    const dir = service('trap "exit 0" USR1; echo r > ready; while :; do sleep 0.05; done', {
      'control/t': 'echo t >> scripts; kill -USR1 $(cat supervise/pid); exit 0',
      'control/x': 'echo x >> scripts',
    });
    const s = startSupervisor(runsv, [dir]);
    await until('ready', () => read(path.join(dir, 'ready')) !== '' && st(dir).state === status.STATE.run);
    send(dir, 'x');
    assert.equal(await s.exited, 0);
    assert.equal(read(path.join(dir, 'scripts')), 't\nx\n');
  });

  it('handles ./run\'s exit only once the command\'s control scripts are done, as runsv waits for each', async () => {
    // control/t kills ./run, then takes its time; runit's runsv runs control/x
    // (or control/d) before it looks at the exit, so neither is cut short.
    const scripts = {
      'control/t': 'kill $(cat supervise/pid); sleep 0.3; echo t >> scripts; exit 0',
      'control/d': 'sleep 0.3; echo d >> scripts',
      'control/x': 'sleep 0.3; echo x >> scripts',
    };
    const dir = service('exec sleep 1000', scripts);
    const s = startSupervisor(runsv, [dir]);
    await until('run', () => st(dir).state === status.STATE.run);
    send(dir, 'd');
    await until('down', () => st(dir).state === status.STATE.down);
    assert.equal(read(path.join(dir, 'scripts')), 't\nd\n', 'control/d is done when the service is seen down');
    send(dir, 'u');
    await until('run again', () => st(dir).state === status.STATE.run);
    await execd(st(dir).pid);
    send(dir, 'x');
    assert.equal(await s.exited, 0);
    assert.equal(read(path.join(dir, 'scripts')), 't\nd\nt\nx\n');
  });

  it('waits a second before restarting a ./run that exits at once', async () => {
    // Each ./run notes when the kernel started it (field 22 of /proc/$$/stat, in
    // clock ticks): the fork in runsv, right after it decided to start. A clock
    // read later by ./run (date) would add the shell's own start-up, which varies
    // by more than the tolerance on a loaded machine.
    const dir = service('cut -d" " -f22 /proc/$$/stat >> starts; exit 0');
    const tick = 1000 / Number(run('getconf', ['CLK_TCK']).out);
    const s = startSupervisor(runsv, [dir]);
    await until('three starts', () => read(path.join(dir, 'starts')).split('\n').filter(Boolean).length >= 3);
    await stopSupervisor(s);
    const t = read(path.join(dir, 'starts')).trim().split('\n').map((x) => Number(x) * tick);
    for (let i = 1; i < t.length; i++) assert.ok(t[i]! - t[i - 1]! >= 990, `gap ${t[i]! - t[i - 1]!} ms`);
  });

  it('honours ./down, then u, o and d', async () => {
    const dir = service('echo started >> log; exec sleep 1000', { down: '' });
    const s = startSupervisor(runsv, [dir]);
    await until('status', () => st(dir).want === 'd');
    assert.equal(st(dir).state, status.STATE.down);
    assert.equal(read(path.join(dir, 'log')), '');
    send(dir, 'u');
    await until('up', () => st(dir).state === status.STATE.run);
    const p1 = st(dir).pid;
    send(dir, 'd');
    await until('down', () => st(dir).state === status.STATE.down);
    assert.ok(!alive(p1));
    await until('stat down', () => read(path.join(dir, 'supervise/stat')) === 'down\n');
    send(dir, 'o');
    // pid, stat, then status: wait for the last
    await until('once', () => read(path.join(dir, 'supervise/stat')) === 'run, want down\n' && st(dir).state === status.STATE.run);
    assert.equal(st(dir).want, 'd');
    assert.equal(st(dir).state, status.STATE.run);
    await until('second start', () => read(path.join(dir, 'log')) === 'started\nstarted\n');
    process.kill(st(dir).pid, 'SIGKILL');
    await until('stays down', () => st(dir).state === status.STATE.down);
    await new Promise((r) => setTimeout(r, 1200)); // past the one-second guard: o must not restart it
    assert.equal(read(path.join(dir, 'log')), 'started\nstarted\n');
    await stopSupervisor(s);
  });

  it('sends the signal of each control character', async () => {
    const dir = service([
      'for s in HUP ALRM INT QUIT USR1 USR2 TERM; do trap "echo $s >> got" $s; done',
      'echo ready > ready',
      'while :; do sleep 0.05; done',
    ].join('\n'));
    const s = startSupervisor(runsv, [dir]);
    await until('ready', () => read(path.join(dir, 'ready')) !== '');
    const expect: string[] = [];
    for (const [c, name] of [['h', 'HUP'], ['a', 'ALRM'], ['i', 'INT'], ['q', 'QUIT'], ['1', 'USR1'], ['2', 'USR2'], ['t', 'TERM']]) {
      send(dir, c!);
      expect.push(name!);
      await until(`got ${name}`, () => read(path.join(dir, 'got')).split('\n').filter(Boolean).length === expect.length);
    }
    assert.deepEqual(read(path.join(dir, 'got')).trim().split('\n'), expect);
    await until('stat got TERM', () => read(path.join(dir, 'supervise/stat')) === 'run, got TERM\n');
    send(dir, 'p');
    // stat is written before status: wait for the second
    await until('paused', () => read(path.join(dir, 'supervise/stat')) === 'run, paused, got TERM\n' && st(dir).paused);
    const pid = st(dir).pid;
    // kill(STOP) returns before the target has stopped: it stops when it next runs
    await until('./run stopped', () => /State:\s+T/.test(fs.readFileSync(`/proc/${pid}/status`, 'utf8')));
    send(dir, 'c');
    await until('continued', () => !st(dir).paused);
    send(dir, 'k');
    await until('killed and restarted', () => st(dir).pid !== pid && st(dir).state === status.STATE.run);
    assert.equal(st(dir).term, false);
    await stopSupervisor(s);
  });

  it('runs custom control scripts, and skips the signal when they exit 0', async () => {
    const dir = service('trap "echo TERM >> got; exit" TERM; trap "echo HUP >> got" HUP; echo $$ > ready; while :; do sleep 0.05; done', {
      'control/h': 'echo h >> scripts; exit 0',
      'control/t': 'echo t >> scripts; exit 1',
      'control/d': 'echo d >> scripts; exit 0',
    });
    const s = startSupervisor(runsv, [dir]);
    await until('ready', () => read(path.join(dir, 'ready')) !== '');
    send(dir, 'h');
    await until('h ran', () => read(path.join(dir, 'scripts')) === 'h\n');
    const first = read(path.join(dir, 'ready'));
    send(dir, 't');
    await until('t ran and TERM sent', () => read(path.join(dir, 'got')) === 'TERM\n');
    await until('restarted', () => read(path.join(dir, 'ready')) !== first && st(dir).state === status.STATE.run);
    send(dir, 'd');
    await until('down', () => st(dir).state === status.STATE.down);
    assert.equal(read(path.join(dir, 'got')), 'TERM\nTERM\n');
    assert.equal(read(path.join(dir, 'scripts')), 'h\nt\nt\nd\n');
    assert.ok(!read(path.join(dir, 'got')).includes('HUP'), 'control/h exiting 0 suppresses HUP');
    await stopSupervisor(s);
  });

  it('never loses a line when the service or its log restarts', async () => {
    // ./run prints 50 lines and exits, four times; log/run takes 30 lines and
    // exits. Both restart over and over; the pipe held by runsv keeps every line.
    const dir = service([
      'n=$(cat n 2>/dev/null || echo 0); i=0',
      'while [ $i -lt 50 ]; do echo run$n-$i; i=$((i+1)); done',
      'echo $((n+1)) > n; [ $n -ge 3 ] && exec sleep 1000; exit 0',
    ].join('\n'));
    script(path.join(dir, 'log/run'), 'i=0; while [ $i -lt 30 ] && read -r l; do echo "$l" >> out; i=$((i+1)); done');
    const s = startSupervisor(runsv, [dir]);
    await until('all lines', () => read(path.join(dir, 'log/out')).includes('run3-49\n'), 30000);
    const want = [0, 1, 2, 3].flatMap((n) => Array.from({ length: 50 }, (_, i) => `run${n}-${i}`));
    assert.deepEqual(read(path.join(dir, 'log/out')).trim().split('\n'), want);
    await stopSupervisor(s);
  });

  it('x: stops the service, closes the log\'s stdin, and exits 0', async () => {
    const dir = service('echo bye; exec sleep 1000');
    script(path.join(dir, 'log/run'), 'cat > out; echo eof >> out');
    const s = startSupervisor(runsv, [dir]);
    await until('running', () => st(dir).state === status.STATE.run && status.read(path.join(dir, 'log/supervise')).state === status.STATE.run);
    const pid = st(dir).pid;
    await execd(pid); // past `echo bye`: a TERM before it would leave nothing to log
    control.send(path.join(dir, 'log/supervise'), 'x');
    send(dir, 'x');
    assert.equal(await s.exited, 0);
    assert.equal(read(path.join(dir, 'log/out')), 'bye\neof\n');
    assert.ok(!alive(pid));
  });

  it('x without a log service, and with the service down, exits at once', async () => {
    const dir = service('exec sleep 1000', { down: '' });
    const s = startSupervisor(runsv, [dir]);
    await until('status', () => fs.existsSync(path.join(dir, 'supervise/status')));
    send(dir, 'x');
    assert.equal(await s.exited, 0);
  });

  it('a second runsv on the same directory exits 111', async () => {
    const dir = service('exec sleep 1000');
    const s = startSupervisor(runsv, [dir]);
    await until('run', () => st(dir).state === status.STATE.run);
    const s2 = startSupervisor(runsv, [dir]);
    assert.equal(await s2.closed, 111);
    assert.match(s2.stderr(), /^runsv .*svc: fatal: unable to lock supervise\/lock: temporary failure\n$/);
    assert.ok(alive(s.pid));
    await stopSupervisor(s);
  });

  it('locks log/supervise the same way', async () => {
    const dir = service('exec sleep 1000');
    script(path.join(dir, 'log/run'), 'exec cat');
    const s = startSupervisor(runsv, [dir]);
    await until('log runs', () => status.read(path.join(dir, 'log/supervise')).state === status.STATE.run);
    const s2 = startSupervisor(runsv, [path.join(dir, 'log')]);
    assert.equal(await s2.closed, 111);
    assert.match(s2.stderr(), /unable to lock supervise\/lock: temporary failure/);
    await stopSupervisor(s);
  });

  it('works with supervise/ as a symlink', async () => {
    const dir = service('exec sleep 1000');
    const elsewhere = path.join(tmpdir(), 'sup');
    fs.mkdirSync(elsewhere, { mode: 0o700 });
    fs.symlinkSync(elsewhere, path.join(dir, 'supervise'));
    const s = startSupervisor(runsv, [dir]);
    await until('run', () => status.read(elsewhere).state === status.STATE.run);
    assert.ok(fs.lstatSync(path.join(dir, 'supervise')).isSymbolicLink());
    assert.ok(fs.statSync(path.join(elsewhere, 'control')).isFIFO());
    await stopSupervisor(s);
  });

  it('rejects what is not a directory, with runit\'s message', async () => {
    const d = tmpdir();
    const file = path.join(d, 'file');
    fs.writeFileSync(file, '');
    const s = startSupervisor(runsv, [file]);
    assert.equal(await s.closed, 111);
    assert.equal(s.stderr(), `runsv ${file}: fatal: unable to change to directory: not a directory\n`);
    const s2 = startSupervisor(runsv, [path.join(d, 'missing')]);
    assert.equal(await s2.closed, 111);
    assert.equal(s2.stderr(), `runsv ${path.join(d, 'missing')}: fatal: unable to change to directory: file does not exist\n`);
  });

  it('refuses a supervise/control that is not a FIFO', async () => {
    const dir = service('exec sleep 1000');
    fs.mkdirSync(path.join(dir, 'supervise'));
    fs.writeFileSync(path.join(dir, 'supervise/control'), '');
    const s = startSupervisor(runsv, [dir]);
    assert.equal(await s.closed, 111);
    assert.match(s.stderr(), /^runsv .*svc: fatal: supervise\/control exists but is not a fifo\n$/);
  });

  it('creates the target of a dangling supervise symlink', async () => {
    const dir = service('exec sleep 1000');
    const target = path.join(tmpdir(), 'elsewhere');
    fs.symlinkSync(target, path.join(dir, 'supervise'));
    const s = startSupervisor(runsv, [dir]);
    await until('run', () => status.read(target).state === status.STATE.run);
    assert.equal(fs.statSync(target).mode & 0o777, 0o700);
    await stopSupervisor(s);
  });

  it('refuses a ./run without #! as execve does (exec format error)', async () => {
    const dir = service('true');
    fs.writeFileSync(path.join(dir, 'run'), 'echo hi\nexec sleep 1000\n', { mode: 0o755 });
    const s = startSupervisor(runsv, [dir]);
    await until('message', () => /fatal: unable to start \.\/run: exec format error/.test(s.stderr()));
    await stopSupervisor(s);
  });

  it('dies of SIGUSR1 as runit\'s runsv does (no debugger port)', async () => {
    const dir = service('exec sleep 1000');
    const s = startSupervisor(runsv, [dir]);
    await until('run', () => st(dir).state === status.STATE.run);
    const pid = st(dir).pid;
    process.kill(s.pid, 'SIGUSR1');
    await s.exited;
    assert.equal(s.child.signalCode, 'SIGUSR1');
    assert.doesNotMatch(s.stderr(), /Debugger/);
    process.kill(pid, 'SIGKILL');
  });

  it('u cancels a pending exit', async () => {
    const dir = service('trap "" TERM; exec sleep 1000');
    const s = startSupervisor(runsv, [dir]);
    await until('run', () => st(dir).state === status.STATE.run);
    await execd(st(dir).pid);
    send(dir, 'x');
    await until('want exit', () => read(path.join(dir, 'supervise/stat')) === 'run, got TERM, want exit\n');
    send(dir, 'u');
    await until('want up', () => read(path.join(dir, 'supervise/stat')) === 'run, got TERM\n');
    const pid = st(dir).pid;
    process.kill(pid, 'SIGKILL');
    await until('restarted', () => st(dir).pid !== pid && st(dir).state === status.STATE.run);
    assert.equal(s.child.exitCode, null, 'runsv is still there');
    await stopSupervisor(s);
  });

  it('./finish keeps the time ./run started; p sets the flag even when down', async () => {
    const dir = service('exec sleep 1000', { finish: 'exec sleep 1000', down: '' });
    const s = startSupervisor(runsv, [dir]);
    await until('status', () => fs.existsSync(path.join(dir, 'supervise/stat')));
    send(dir, 'p');
    await until('down, paused', () => read(path.join(dir, 'supervise/stat')) === 'down, paused\n');
    send(dir, 'u');
    // pid, stat, then status: wait for the last before taking its time
    await until('run', () => read(path.join(dir, 'supervise/stat')) === 'run\n' && st(dir).state === status.STATE.run);
    const started = st(dir).when;
    send(dir, 'k');
    await until('finish', () => st(dir).state === status.STATE.finish);
    assert.deepEqual(st(dir).when, started);
    const fpid = st(dir).pid;
    send(dir, 'd');
    process.kill(fpid, 'SIGKILL');
    await until('down', () => st(dir).state === status.STATE.down);
    await stopSupervisor(s);
  });

  it('ignores garbage on the control pipe and keeps running', async () => {
    const dir = service('exec sleep 1000');
    const s = startSupervisor(runsv, [dir]);
    await until('run', () => st(dir).state === status.STATE.run);
    const pid = st(dir).pid;
    send(dir, 'zZ\x00\xff\n?!garbage');
    send(dir, 'd');
    await until('down after garbage', () => st(dir).state === status.STATE.down);
    assert.ok(!alive(pid));
    assert.ok(alive(s.pid));
    await stopSupervisor(s);
  });

  it('survives supervise/ being deleted, with warnings', async () => {
    const dir = service('exec sleep 1000');
    const s = startSupervisor(runsv, [dir]);
    await until('run', () => st(dir).state === status.STATE.run);
    const pid = st(dir).pid;
    fs.rmSync(path.join(dir, 'supervise'), { recursive: true });
    process.kill(pid, 'SIGKILL');
    await until('warning', () => /warning: unable to open supervise\/pid.new: file does not exist/.test(s.stderr()));
    assert.ok(alive(s.pid));
    await stopSupervisor(s);
  });

  it('TERM to runsv acts as x, waiting for ./finish', async () => {
    const dir = service('exec sleep 1000', { finish: 'echo "$@" > finished' });
    const s = startSupervisor(runsv, [dir]);
    await until('run', () => st(dir).state === status.STATE.run);
    process.kill(s.pid, 'SIGTERM');
    assert.equal(await s.exited, 0);
    assert.equal(read(path.join(dir, 'finished')), '-1 15\n');
  });
});
