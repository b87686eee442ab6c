// Readiness (issue 13): notification-fd, supervise/ready, and sv start /
// restart / -v up / check waiting for it; runit's dependency idiom over it.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import * as readiness from '../src/supervise/readiness.js';
import * as status from '../src/supervise/status.js';
import { alive, bin, noRef, read, reap, ref, root, run, script, startSupervisor, stopAll, tmpdir, until } from './helpers.js';

after(stopAll);

const runsv = bin('runsv');
const sv = bin('sv');
const st = (dir: string): status.Status => status.read(path.join(dir, 'supervise'));
const readyFile = (dir: string): string => path.join(dir, 'supervise', readiness.FILE);

/** A ./run that says it started, waits for `go`, then notifies on fd 5. */
function gated(dir: string, after = 'exec sleep 1000'): void {
  script(path.join(dir, 'run'), `touch started; while [ ! -e go ]; do sleep 0.02; done; echo ready >&5; ${after}`);
  fs.writeFileSync(path.join(dir, 'notification-fd'), '5\n');
}

/** sv in the background: its exit code and output once it ends. */
function svLater(args: string[]): { done: Promise<{ code: number | null; out: string }>; pid: number } {
  const c = spawn(sv, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  c.stdout!.on('data', (b: Buffer) => { out += b.toString(); });
  return { pid: c.pid!, done: new Promise((r) => c.on('close', (code) => r({ code, out }))) };
}

describe('notification-fd', () => {
  it('supervise/ready appears when ./run writes its newline, and goes with ./run', async () => {
    const dir = path.join(tmpdir(), 'svc');
    gated(dir);
    startSupervisor(runsv, [dir]);
    await until('started', () => fs.existsSync(path.join(dir, 'started')) && st(dir).state === status.STATE.run);
    assert.ok(!fs.existsSync(readyFile(dir)), 'not ready before the newline');
    fs.writeFileSync(path.join(dir, 'go'), '');
    await until('ready', () => fs.existsSync(readyFile(dir)));
    const since = readiness.since(path.join(dir, 'supervise'))!;
    assert.ok(Math.abs(since - Date.now() / 1000) < 60);
    assert.equal(read(path.join(dir, 'supervise/stat')), 'run\n', 'stat is runit\'s');
    const old = st(dir).pid;
    fs.rmSync(path.join(dir, 'go'));
    fs.rmSync(path.join(dir, 'started'));
    run(sv, ['k', dir]);
    await until('started again', () => fs.existsSync(path.join(dir, 'started')) && st(dir).pid !== old && st(dir).state === status.STATE.run);
    assert.ok(!fs.existsSync(readyFile(dir)), 'a new ./run is not ready until it says so');
  });

  it('sv start waits for readiness, then reports ok', async () => {
    const dir = path.join(tmpdir(), 'svc');
    gated(dir);
    fs.writeFileSync(path.join(dir, 'down'), '');
    startSupervisor(runsv, [dir]);
    await until('supervised', () => fs.existsSync(path.join(dir, 'supervise/status')));
    const s = svLater(['-w', '30', 'start', dir]);
    await until('started', () => fs.existsSync(path.join(dir, 'started')));
    await until('./run is up (pid in status)', () => st(dir).state === status.STATE.run);
    assert.ok(alive(s.pid), 'sv still waits: ./run is up but not ready');
    fs.writeFileSync(path.join(dir, 'go'), '');
    const r = await s.done;
    assert.equal(r.code, 0);
    assert.match(r.out, /^ok: run: .*: \(pid \d+\) \d+s, normally down\n$/);
    assert.ok(fs.existsSync(readyFile(dir)));
  });

  it('sv restart and sv check wait for the new ./run to be ready', async () => {
    const dir = path.join(tmpdir(), 'svc');
    gated(dir);
    fs.writeFileSync(path.join(dir, 'go'), '');
    startSupervisor(runsv, [dir]);
    await until('ready', () => fs.existsSync(readyFile(dir)));
    assert.equal(run(sv, ['-w', '30', 'check', dir]).code, 0, 'check: ready already');
    fs.rmSync(path.join(dir, 'go'));
    fs.rmSync(path.join(dir, 'started'));
    const r = svLater(['-w', '30', 'restart', dir]);
    await until('started again', () => fs.existsSync(path.join(dir, 'started')));
    const c = svLater(['-w', '30', 'check', dir]);
    await until('new ./run up', () => st(dir).state === status.STATE.run && !fs.existsSync(readyFile(dir)));
    assert.ok(alive(r.pid), 'restart waits');
    fs.writeFileSync(path.join(dir, 'go'), '');
    assert.equal((await r.done).code, 0);
    assert.equal((await c.done).code, 0);
  });

  it('sv start times out when the service never becomes ready', async () => {
    const dir = path.join(tmpdir(), 'svc');
    gated(dir);
    startSupervisor(runsv, [dir]);
    await until('started', () => fs.existsSync(path.join(dir, 'started')));
    const r = run(sv, ['-w', '1', 'start', dir]);
    assert.equal(r.code, 1);
    assert.match(r.out, /^timeout: run: /);
  });

  it('a waiting sv sits idle until the notification wakes it: no look every 10 ms', async () => {
    const dir = path.join(tmpdir(), 'svc');
    script(path.join(dir, 'run'), 'touch started; sleep 1; echo >&5; exec sleep 1000');
    fs.writeFileSync(path.join(dir, 'notification-fd'), '5\n');
    fs.writeFileSync(path.join(dir, 'down'), '');
    startSupervisor(runsv, [dir]);
    await until('supervised', () => run(sv, ['status', dir]).code === 0);
    const s = svLater(['-w', '30', 'start', dir]);
    let ended = false;
    const r = s.done.then((x) => { ended = true; return x; });
    // each look is a sleep in epoll_wait: a voluntary context switch of sv's main thread
    const switches = (): number | null => {
      try {
        return Number(/^voluntary_ctxt_switches:\s*(\d+)$/m.exec(fs.readFileSync(`/proc/${s.pid}/task/${s.pid}/status`, 'latin1'))![1]);
      } catch { return null; }
    };
    await until('started (sv has sent u and waits)', () => fs.existsSync(path.join(dir, 'started')));
    const first = switches();
    let last = first;
    await until('sv done', () => { last = switches() ?? last; return ended; }, 30000);
    assert.equal((await r).code, 0);
    assert.ok(first !== null && last !== null);
    // ./run takes a second to be ready: looks every 10 ms would be near 100
    assert.ok(last - first < 25, `sv's main thread slept ${last - first} times while it waited a second`);
  });

  it('sv start waiting for readiness still says when runsv goes', async () => {
    const dir = path.join(tmpdir(), 'svc');
    gated(dir);
    fs.writeFileSync(path.join(dir, 'down'), '');
    const sup = startSupervisor(runsv, [dir]);
    await until('supervised', () => run(sv, ['status', dir]).code === 0);
    const s = svLater(['-w', '30', 'start', dir]);
    await until('started', () => fs.existsSync(path.join(dir, 'started')) && st(dir).state === status.STATE.run);
    const pid = st(dir).pid;
    process.kill(sup.pid, 'SIGKILL');
    const r = await s.done;
    reap([pid]);
    assert.equal(r.code, 1);
    assert.match(r.out, /^fail: .*: runsv not running\n$/);
  });

  it('under runit\'s runsv (which knows no readiness) a notification-fd file changes nothing for sv start', { skip: noRef }, async () => {
    const dir = path.join(tmpdir(), 'svc');
    script(path.join(dir, 'run'), 'exec sleep 1000');
    fs.writeFileSync(path.join(dir, 'notification-fd'), '5\n');
    fs.writeFileSync(path.join(dir, 'down'), '');
    startSupervisor(ref('runsv')!, [dir]);
    await until('supervised', () => fs.existsSync(path.join(dir, 'supervise/status')));
    const r = run(sv, ['-w', '30', 'start', dir]);
    assert.equal(r.code, 0);
    assert.match(r.out, /^ok: run: /);
  });

  it('the dependency idiom: `sv start dep || exit 1` in ./run starts only once dep is ready', { timeout: 60000 }, async () => {
    const base = tmpdir();
    const dep = path.join(base, 'dep');
    const app = path.join(base, 'app');
    gated(dep);
    script(path.join(app, 'run'),
      `touch trying; ${sv} -w 30 start ${dep} >/dev/null || exit 1; cat ${readyFile(dep)} > saw; exec sleep 1000`);
    startSupervisor(runsv, [dep]);
    startSupervisor(runsv, [app]);
    await until('app tries', () => fs.existsSync(path.join(app, 'trying')));
    await until('dep started', () => fs.existsSync(path.join(dep, 'started')));
    assert.ok(!fs.existsSync(path.join(app, 'saw')), 'app waits for dep');
    fs.writeFileSync(path.join(dep, 'go'), '');
    await until('app past its sv start', () => read(path.join(app, 'saw')) !== '', 30000);
    assert.match(read(path.join(app, 'saw')), /^\d+\.\d{9}\n$/, 'dep was ready when app went on');
  });
});

describe('example/beyond (README)', () => {
  it('under runsvdir: app starts once db is ready; a restart of db leaves none of its processes behind', { timeout: 90000 }, async () => {
    const { runsvdir, cleanup } = await import('./runsvdir-fixtures.js');
    const base = path.join(tmpdir(), 'beyond');
    fs.cpSync(path.join(root, 'example/beyond'), base, { recursive: true });
    const env = { ...process.env, PATH: `${path.join(root, 'bin')}:${process.env.PATH}` };
    const d = runsvdir(bin('runsvdir'), [base], base, env);
    try {
      const db = path.join(base, 'db');
      const app = path.join(base, 'app');
      // app's ./run is up while it waits in `sv start db`; past it, it execs its daemon (sleep)
      await until('app past its sv start', () => fs.readFileSync(`/proc/${st(app).pid}/comm`, 'utf8') === 'sleep\n', 60000);
      assert.ok(fs.existsSync(readyFile(db)), 'db was ready');
      const group = st(db).pid;
      const inGroup = (): number[] => fs.readdirSync('/proc').filter((p) => /^\d+$/.test(p)).map(Number).filter((p) => {
        try { return fs.readFileSync(`/proc/${p}/stat`, 'latin1').split(') ')[1]!.split(' ')[2] === String(group); } catch { return false; }
      });
      await until('db\'s helper forked', () => inGroup().length >= 2);
      assert.equal(run(sv, ['-w', '30', 'restart', db], { env }).code, 0);
      await until('db\'s old process group gone', () => inGroup().filter(alive).length === 0);
      assert.ok(fs.existsSync(readyFile(db)), 'restart returned once the new db was ready');
    } finally {
      await cleanup(d);
    }
  });
});

// A real client of systemd's protocol: systemd-notify (systemd), else Python's socket module.
const notifyClient = ((): string | null => {
  for (const [prog, cmd] of [
    ['systemd-notify', 'systemd-notify --ready --status=up'],
    ['python3', `python3 -c 'import os,socket; a=os.environ["NOTIFY_SOCKET"]; a="\\0"+a[1:] if a[0]=="@" else a; socket.socket(socket.AF_UNIX,socket.SOCK_DGRAM).sendto(b"STATUS=up\\nREADY=1\\n",a)'`],
  ] as const) {
    if (run('sh', ['-c', `command -v ${prog}`]).code === 0) return cmd;
  }
  return null;
})();
const noClient = notifyClient ? false : 'neither systemd-notify nor python3 installed';

describe('notify-socket', { skip: noClient }, () => {
  it('$NOTIFY_SOCKET for ./run; READY=1 there makes the service ready, and sv start waits for it', async () => {
    const dir = path.join(tmpdir(), 'svc');
    script(path.join(dir, 'run'), `echo "$NOTIFY_SOCKET" > address; touch started; while [ ! -e go ]; do sleep 0.02; done; ${notifyClient}; exec sleep 1000`);
    fs.writeFileSync(path.join(dir, 'notify-socket'), '');
    fs.writeFileSync(path.join(dir, 'down'), '');
    startSupervisor(runsv, [dir]);
    await until('supervised', () => fs.existsSync(path.join(dir, 'supervise/status')));
    const s = svLater(['-w', '30', 'start', dir]);
    await until('started', () => fs.existsSync(path.join(dir, 'started')));
    assert.match(read(path.join(dir, 'address')), /^@runit-ts\/\d+\/\d+\n$/);
    await until('./run is up', () => st(dir).state === status.STATE.run);
    assert.ok(alive(s.pid), 'sv waits for READY=1');
    fs.writeFileSync(path.join(dir, 'go'), '');
    assert.equal((await s.done).code, 0);
    assert.ok(fs.existsSync(readyFile(dir)));
  });

  it('READY=1 from a process that is not the service\'s is ignored', async () => {
    const dir = path.join(tmpdir(), 'svc');
    script(path.join(dir, 'run'), 'echo "$NOTIFY_SOCKET" > address; exec sleep 1000');
    fs.writeFileSync(path.join(dir, 'notify-socket'), '');
    startSupervisor(runsv, [dir]);
    await until('address', () => read(path.join(dir, 'address')) !== '');
    const address = read(path.join(dir, 'address')).trim();
    // sent from this test's process tree, not from under ./run
    assert.equal(run('sh', ['-c', notifyClient!], { env: { ...process.env, NOTIFY_SOCKET: address } }).code, 0);
    const r = run(sv, ['-w', '1', 'check', dir]);
    assert.equal(r.code, 1, 'still not ready');
    assert.ok(!fs.existsSync(readyFile(dir)));
  });
});
