// A supervisor killed with SIGKILL (the runsvdir host, or a runsv) and
// started again takes over what it left running: exactly one instance of
// each service, supervised (sv down stops it), its log still written
// through the same pipe, no line lost.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import * as status from '../src/supervise/status.js';
import * as tai from '../src/sys/tai64n.js';
import { alive, bin, read, reap, run, script, startSupervisor, stopAll, stopSupervisor, tmpdir, until } from './helpers.js';
import { cleanup, cleanupAll, hosts, runsvdir, supervised } from './runsvdir-fixtures.js';

after(async () => { await stopAll(); await cleanupAll(); });

const sv = bin('sv');
const st = (dir: string): status.Status | null => {
  try { return status.read(path.join(dir, 'supervise')); } catch { return null; }
};
const running = (dir: string): boolean => {
  const s = st(dir);
  return s !== null && s.state === status.STATE.run && alive(s.pid);
};

/** Every live process whose environment has MARK_<tag>=<value>: value → [pid, its parent's pid]. */
function markedWithParents(tag: string): Map<string, [number, number][]> {
  const out = new Map<string, [number, number][]>();
  for (const p of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(p)) continue;
    let env: string;
    let ppid: number;
    try {
      env = fs.readFileSync(`/proc/${p}/environ`, 'latin1');
      ppid = Number(fs.readFileSync(`/proc/${p}/stat`, 'latin1').split(') ')[1]!.split(' ')[1]);
    } catch {
      continue; // gone meanwhile (a loop's sleep)
    }
    const m = env.split('\0').find((v) => v.startsWith(`MARK_${tag}=`));
    if (!m || !Number.isInteger(ppid) || !alive(Number(p))) continue;
    const k = m.slice(m.indexOf('=') + 1);
    out.set(k, [...(out.get(k) ?? []), [Number(p), ppid]]);
  }
  return out;
}

/** Every live process whose environment has MARK_<tag>=<value>: value → pids. */
function marked(tag: string): Map<string, number[]> {
  return new Map([...markedWithParents(tag)].map(([k, v]) => [k, v.map(([p]) => p)]));
}

/** Instances of each service: marked processes whose parent is not marked the same (a loop's sleep is not one). */
function instances(tag: string): Map<string, number[]> {
  const out = new Map<string, number[]>();
  for (const [k, procs] of markedWithParents(tag)) {
    const pids = procs.map(([p]) => p);
    out.set(k, procs.filter(([, ppid]) => !pids.includes(ppid)).map(([p]) => p));
  }
  return out;
}

/**
 * A service (./run execs ./loop, marked) writing numbered lines (a pause
 * every 50), which writes the last number to ./last on TERM.
 */
function producer(dir: string, tag: string, name: string): void {
  // TERM ends the loop after a whole turn (a trap writing $i at once could
  // name a number counted and not yet echoed)
  script(path.join(dir, 'loop'), "i=0\nstop=0\ntrap 'stop=1' TERM\n"
    + 'while [ $stop = 0 ]; do i=$((i+1)); echo $i; if [ $((i % 50)) = 0 ]; then sleep 0.02; fi; done\necho $i > last');
  script(path.join(dir, 'run'), `exec env MARK_${tag}=${name} ./loop`);
}

/** Every number 1..last in the log directory `main`, each once. */
function checkLog(svc: string): void {
  const last = Number(read(path.join(svc, 'last')));
  assert.ok(last > 0, `${svc}: the producer wrote its last number`);
  const main = path.join(svc, 'log/main');
  const files = fs.readdirSync(main).filter((f) => f.startsWith('@')).sort().concat('current');
  const seen = new Uint8Array(last + 1);
  for (const f of files) {
    for (const line of read(path.join(main, f)).split('\n')) {
      if (line === '') continue;
      const n = Number(line);
      assert.ok(Number.isInteger(n) && n >= 1 && n <= last, `${svc}: a whole numbered line (${JSON.stringify(line)})`);
      seen[n]!++;
    }
  }
  const missing = [];
  for (let n = 1; n <= last; n++) if (seen[n] !== 1) missing.push(n);
  assert.deepEqual(missing.slice(0, 10), [], `${svc}: every line once (${missing.length} not)`);
}

describe('a supervisor killed with SIGKILL and started again', () => {
  it('runsvdir host: 20 services, 5 logged: one instance each, supervised, logs whole', async () => {
    const tag = `H${process.pid}`;
    const base = path.join(tmpdir('host-crash-'), 'service');
    const names = Array.from({ length: 20 }, (_, i) => `s${i}`);
    const logged = names.slice(15);
    for (const n of names) {
      const dir = path.join(base, n);
      if (logged.includes(n)) {
        producer(dir, tag, n);
        fs.mkdirSync(path.join(dir, 'log/main'), { recursive: true });
        script(path.join(dir, 'log/run'), `exec env MARK_${tag}=${n}/log ${bin('svlogd')} main`);
      } else {
        script(path.join(dir, 'run'), `exec env MARK_${tag}=${n} sleep 1000`);
      }
    }
    const svcs = names.map((n) => path.join(base, n));
    const all = [...svcs, ...logged.map((n) => path.join(base, n, 'log'))];
    const d = runsvdir(bin('runsvdir'), [base], base);
    try {
      await until('all run', () => all.every(running), 60000);
      await until('every log written', () => logged.every((n) => read(path.join(base, n, 'log/main/current')).length > 1000), 30000);
      const before = new Map(all.map((s) => [s, st(s)!.pid]));
      const [host] = hosts(d);
      assert.ok(host, 'a supervision host');
      process.kill(host!, 'SIGKILL');
      await until('a new host', () => hosts(d).some((p) => p !== host));
      await until('all supervised and run again', () => all.every((s) => supervised(s) && running(s)), 60000);

      const counted = instances(tag);
      for (const s of all) {
        const key = path.relative(base, s);
        assert.equal(counted.get(key)?.length, 1, `${key}: one instance (${counted.get(key)})`);
        assert.equal(st(s)!.pid, before.get(s), `${key}: the same process, supervised`);
      }
      assert.match(run(sv, ['status', ...svcs]).out, /^run: .*s0: \(pid \d+\)/m);

      // the old logger killed: the new one reads the same pipe
      const s15 = path.join(base, 's15');
      const oldLogger = st(path.join(s15, 'log'))!.pid;
      run(sv, ['kill', path.join(s15, 'log')]);
      await until('a new logger', () => running(path.join(s15, 'log')) && st(path.join(s15, 'log'))!.pid !== oldLogger);
      const size = read(path.join(s15, 'log/main/current')).length;
      await until('the new logger writes', () => read(path.join(s15, 'log/main/current')).length > size + 1000);

      const r = run(sv, ['down', ...svcs]);
      assert.equal(r.code, 0, r.out + r.err);
      await until('every service stopped', () => [...instances(tag)].every(([k, p]) => k.endsWith('/log') || p.length === 0), 30000);
      await until('every line logged', () => logged.every((n) => {
        const last = read(path.join(base, n, 'last')).trim();
        return last !== '' && read(path.join(base, n, 'log/main/current')).endsWith(`\n${last}\n`);
      }), 30000);
      for (const n of logged) checkLog(path.join(base, n));
    } finally {
      await cleanup(d);
      reap([...marked(tag).values()].flat());
    }
    await until('nothing left running', () => marked(tag).size === 0);
  });

  it('runsv: takes over its ./run and log, and sv down stops it', async () => {
    const tag = `R${process.pid}`;
    const dir = path.join(tmpdir(), 'svc');
    producer(dir, tag, 'svc');
    fs.mkdirSync(path.join(dir, 'log/main'), { recursive: true });
    script(path.join(dir, 'log/run'), `exec env MARK_${tag}=svc/log ${bin('svlogd')} main`);
    const first = startSupervisor(bin('runsv'), [dir]);
    let second: ReturnType<typeof startSupervisor> | null = null;
    try {
      await until('run', () => running(dir) && running(path.join(dir, 'log')));
      const pid = st(dir)!.pid;
      process.kill(first.pid, 'SIGKILL');
      await first.exited;
      second = startSupervisor(bin('runsv'), [dir]);
      await until('supervised again', () => supervised(dir) && supervised(path.join(dir, 'log')));
      assert.equal(st(dir)!.pid, pid, 'the same ./run');
      assert.deepEqual([...instances(tag)].map(([k, p]) => [k, p.length]).sort(), [['svc', 1], ['svc/log', 1]]);
      run(sv, ['down', dir]);
      await until('down', () => st(dir)!.state === status.STATE.down && !alive(pid));
      await until('every line logged', () => {
        const last = read(path.join(dir, 'last')).trim();
        return last !== '' && read(path.join(dir, 'log/main/current')).endsWith(`\n${last}\n`);
      });
      checkLog(dir);
    } finally {
      if (second) await stopSupervisor(second);
      reap([...marked(tag).values()].flat());
    }
    await until('nothing left running', () => marked(tag).size === 0);
  });

  it('does not take over a pid that is another process now', async () => {
    const dir = path.join(tmpdir(), 'svc');
    script(path.join(dir, 'run'), 'exec sleep 1000');
    // status left by a supervisor long gone: running, with a pid that is now someone else's
    const other = spawn('sleep', ['1000'], { stdio: 'ignore' });
    fs.mkdirSync(path.join(dir, 'supervise'), { mode: 0o700 });
    fs.writeFileSync(path.join(dir, 'supervise/status'), status.pack({
      when: tai.fromUnix(Math.floor(Date.now() / 1000) - 3600), pid: other.pid!, paused: false, want: 'u', term: false, state: status.STATE.run,
    }));
    const s = startSupervisor(bin('runsv'), [dir]);
    try {
      await until('./run started', () => running(dir) && st(dir)!.pid !== other.pid);
      run(sv, ['down', dir]);
      await until('down', () => st(dir)!.state === status.STATE.down);
      assert.ok(alive(other.pid!), 'the other process was left alone');
    } finally {
      await stopSupervisor(s);
      other.kill('SIGKILL');
    }
  });
});
