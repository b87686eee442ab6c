// A tree brought up at once by runsvdir's supervision host: what each
// service's directory says is honoured at its first start (the host looks at
// a directory once, and takes a supervise/ it has just made for empty), and
// the control FIFOs of many services, read through one poll(2), each reach
// their own service, also after one of them is let go and its descriptor
// number given to the next.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import * as status from '../src/supervise/status.js';
import { bin, run, script, until } from './helpers.js';
import { cleanup, cleanupAll, hosts, isRunning, runsvdir, state, supervised, sv, tree } from './runsvdir-fixtures.js';

after(cleanupAll);

const program = bin('runsvdir');
const isDown = (svc: string): boolean => {
  const s = state(svc);
  return s !== null && s.state === status.STATE.down && s.pid === 0;
};

describe('the supervision host brings a tree up', () => {
  it('honours each directory at its first start: down, log that is a file, control/u, s6 files, a stale ready', async () => {
    const plain = Array.from({ length: 24 }, (_, i) => `p${i}`);
    const dir = tree([...plain, 'logfile']);
    const at = (n: string): string => path.join(dir, n);
    script(path.join(at('downed'), 'run'), 'exec sleep 1000');
    fs.writeFileSync(path.join(at('downed'), 'down'), '');
    fs.writeFileSync(path.join(at('logfile'), 'log'), 'not a directory');
    // control/u runs, and is waited for, before the first ./run
    script(path.join(at('withu'), 'run'), 'test -f uran || : > early\nexec sleep 1000');
    script(path.join(at('withu'), 'control/u'), 'sleep 0.2\n: > uran');
    // down-signal, read at the first start of ./run
    script(path.join(at('hup'), 'run'), 'trap \': > got-hup; exit 0\' HUP\nwhile :; do sleep 0.05; done');
    fs.writeFileSync(path.join(at('hup'), 'down-signal'), 'HUP\n');
    script(path.join(at('notify'), 'run'), 'echo >&3\nexec sleep 1000');
    fs.writeFileSync(path.join(at('notify'), 'notification-fd'), '3\n');
    // supervise/ left by an earlier supervisor, with a ready of its ./run's
    script(path.join(at('stale'), 'run'), 'exec sleep 1000');
    fs.mkdirSync(path.join(at('stale'), 'supervise'), { mode: 0o700 });
    fs.writeFileSync(path.join(at('stale'), 'supervise/ready'), '1764622800.000000000\n');
    const d = runsvdir(program, [dir], dir);
    try {
      const up = [...plain, 'logfile', 'withu', 'hup', 'notify', 'stale'].map(at);
      // (ok opens just after the status is written: sv needs both)
      await until('every service that is to run runs', () => up.every((s) => isRunning(s) && supervised(s)), 30000);
      await until('downed is supervised', () => supervised(at('downed')));
      assert.ok(isDown(at('downed')), 'a service with ./down stays down');
      assert.equal(state(at('downed'))!.want, 'd');
      assert.match(d.stderr(), /^runsv logfile: warning: \.\/log: not a directory\.$/m);
      assert.ok(fs.existsSync(path.join(at('withu'), 'uran')), 'control/u ran');
      assert.ok(!fs.existsSync(path.join(at('withu'), 'early')), './run started only once control/u had ended');
      await until('notify is ready', () => fs.existsSync(path.join(at('notify'), 'supervise/ready')));
      assert.ok(!fs.existsSync(path.join(at('stale'), 'supervise/ready')), 'the ready of an earlier ./run is removed');
      assert.equal(run(sv, ['down', at('hup')]).code, 0);
      await until('hup got its down-signal', () => fs.existsSync(path.join(at('hup'), 'got-hup')));
      await until('hup is down', () => isDown(at('hup')));

      // one sv for every plain service: each FIFO reaches its own supervisor
      const plains = plain.map(at);
      assert.equal(run(sv, ['down', ...plains]).code, 0);
      await until('all down', () => plains.every(isDown));
      assert.ok(isRunning(at('stale')) && isRunning(at('notify')), 'the others are untouched');
      assert.equal(run(sv, ['up', ...plains.filter((_, i) => i % 2 === 0)]).code, 0);
      await until('the even ones run again', () => plains.every((s, i) => (i % 2 === 0 ? isRunning(s) : isDown(s))));
      assert.ok(!isRunning(at('downed')), 'downed was not told anything');
    } finally {
      await cleanup(d);
    }
  });

  it('lets go of a removed service\'s FIFO: the next service, and the others, still get their commands', async () => {
    const dir = tree(['a', 'b']);
    const at = (n: string): string => path.join(dir, n);
    const d = runsvdir(program, [dir], dir);
    try {
      await until('a and b run', () => [at('a'), at('b')].every((s) => isRunning(s) && supervised(s)));
      const aPid = state(at('a'))!.pid;
      // a leaves the tree: its supervisor exits and closes its FIFOs; c comes, and gets their numbers
      fs.renameSync(at('a'), path.join(path.dirname(dir), 'a-gone'));
      await until('a is let go', () => !supervised(path.join(path.dirname(dir), 'a-gone')), 30000);
      script(path.join(at('c'), 'run'), 'exec sleep 1000');
      await until('c runs', () => isRunning(at('c')) && supervised(at('c')), 30000);
      assert.notEqual(state(at('c'))!.pid, aPid);
      for (const [svc, cmd, ok] of [['c', 'down', isDown], ['b', 'down', isDown], ['c', 'up', isRunning]] as const) {
        assert.equal(run(sv, [cmd, at(svc)]).code, 0, `sv ${cmd} ${svc}`);
        await until(`${svc} ${cmd}`, () => ok(at(svc)));
      }
      // many commands in one write, to the service that came last
      fs.writeFileSync(path.join(at('c'), 'supervise/control'), 'pc'.repeat(5000) + 'p');
      await until('c paused', () => state(at('c'))!.paused);
      assert.ok(isDown(at('b')), 'b was not told anything');
    } finally {
      await cleanup(d, [path.dirname(dir)]);
    }
  });

  it('starts its first services at their own priority, and is back at it afterwards; an exec that fails is told', async (t) => {
    if (process.getuid?.() !== 0) { t.skip('needs root (the host raises itself only where it may)'); return; }
    const plain = Array.from({ length: 20 }, (_, i) => `p${i}`);
    const dir = tree(plain);
    const at = (n: string): string => path.join(dir, n);
    // runs (access says so), but cannot be exec'd: its interpreter does not exist
    script(path.join(at('nointerp'), 'run'), '');
    fs.writeFileSync(path.join(at('nointerp'), 'run'), '#!/nonexistent/interpreter\n');
    const d = runsvdir(program, [dir], dir);
    try {
      await until('every plain service runs', () => plain.every((n) => isRunning(at(n)) && supervised(at(n))), 30000);
      await until('the failed exec is told', () => d.stderr().includes('runsv nointerp: fatal: unable to start ./run: file does not exist'), 30000);
      await until('nointerp is down, wanting up', () => isDown(at('nointerp')) && state(at('nointerp'))!.want === 'u', 30000);
      // /proc/PID/stat: field 19 the nice value, 41 the policy (0: SCHED_OTHER)
      const sched = (stat: string): [number, number] => {
        const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        return [Number(f[16]), Number(f[38])];
      };
      for (const n of plain) {
        const pid = state(at(n))!.pid;
        assert.deepEqual(sched(fs.readFileSync(`/proc/${pid}/stat`, 'utf8')), [0, 0], `${n} runs at SCHED_OTHER, nice 0`);
      }
      const [hostPid] = hosts(d);
      assert.ok(hostPid, 'the host');
      const threads = (): [number, number][] => fs.readdirSync(`/proc/${hostPid}/task`).map((t) => sched(fs.readFileSync(`/proc/${hostPid}/task/${t}/stat`, 'utf8')));
      await until('every thread of the host at SCHED_OTHER again', () => threads().every(([, policy]) => policy === 0), 30000);
      // and a service started from then on is too
      script(path.join(at('later'), 'run'), 'exec sleep 1000');
      await until('later runs', () => isRunning(at('later')) && supervised(at('later')), 30000);
      assert.deepEqual(sched(fs.readFileSync(`/proc/${state(at('later'))!.pid}/stat`, 'utf8')), [0, 0]);
    } finally {
      await cleanup(d);
    }
  });
  it('is started with an fd table for the whole tree, and no process keeps the fd that sized it', async () => {
    // 40 services: 64 + 16 each wanted, a table of 1024 (runsvdir's link.ts); the host alone would need a quarter of it
    const plain = Array.from({ length: 40 }, (_, i) => `p${i}`);
    const dir = tree(plain);
    const at = (n: string): string => path.join(dir, n);
    const d = runsvdir(program, [dir], dir);
    try {
      await until('every service runs', () => plain.every((n) => isRunning(at(n)) && supervised(at(n))), 30000);
      const [hostPid] = hosts(d);
      assert.ok(hostPid, 'the host');
      const open = fs.readdirSync(`/proc/${hostPid}/fd`).map(Number);
      assert.ok(Math.max(...open) < 512, `the host holds fewer than 512 fds (${Math.max(...open)})`);
      const size = Number(/^FDSize:\s+(\d+)$/m.exec(fs.readFileSync(`/proc/${hostPid}/status`, 'utf8'))![1]);
      assert.ok(size >= 1024, `the host's fd table has room for the tree from its start (${size})`);
      for (const pid of [d.pid, hostPid!, ...plain.map((n) => state(at(n))!.pid)]) {
        assert.ok(!fs.existsSync(`/proc/${pid}/fd/1023`), `${pid} does not hold the fd that sized the table`);
      }
    } finally {
      await cleanup(d);
    }
  });
});
