// svlogd run by the runsvdir host itself (src/runsvdir/logger.ts): a plain
// `exec svlogd ...` log/run costs a stand-in process, not a Node process, and
// logs exactly what the svlogd program logs.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { alive, bin, root, run, script, tmpdir, until } from './helpers.js';
import { cleanup, cleanupAll, hosts, isRunning, note, runsvdir, state, supervised, sv, tree } from './runsvdir-fixtures.js';

after(cleanupAll);

const env = { ...process.env, PATH: `${path.join(root, 'bin')}:${process.env.PATH ?? '/bin:/usr/bin'}` };
const standin = path.join(root, 'libexec/svlogd');
const logPid = (svc: string): number => state(path.join(svc, 'log'))?.pid ?? 0;
const exe = (pid: number): string => { try { return fs.realpathSync(`/proc/${pid}/exe`); } catch { return ''; } };
const cmdline = (pid: number): string => fs.readFileSync(`/proc/${pid}/cmdline`, 'latin1').split('\0').join(' ').trim();
const inHost = (svc: string): boolean => { const p = logPid(svc); return p > 0 && alive(p) && exe(p) === standin; };
const lines = (dir: string): string[] => {
  const out: string[] = [];
  for (const f of fs.readdirSync(dir).sort()) {
    if (f === 'current' || /^@.*\.[su]$/.test(f)) out.push(...fs.readFileSync(path.join(dir, f), 'latin1').split('\n').filter(Boolean));
  }
  return out;
};

/** A service counting 1, 2, ... (one line a write), logged by `log/run`. */
function counted(names: string[], logRun: string, every = '0.02'): string {
  const dir = tree(names, `i=0; while :; do i=$((i+1)); echo $i; sleep ${every}; done`);
  for (const n of names) {
    fs.mkdirSync(path.join(dir, n, 'log/main'), { recursive: true });
    script(path.join(dir, n, 'log/run'), logRun);
  }
  return dir;
}

describe('svlogd in the runsvdir host', { skip: fs.existsSync(standin) ? false : 'no stand-in for this machine (x86-64 only)' }, () => {
  it('runs a plain `exec svlogd -tt ./main`: the log pid is a stand-in named svlogd, no Node process per logger', async () => {
    const dir = counted(['a', 'b', 'c'], 'exec svlogd -tt ./main');
    const d = runsvdir('runsvdir', [dir], dir, env);
    try {
      const svcs = ['a', 'b', 'c'].map((n) => path.join(dir, n));
      await until('every service and its logger run', () => svcs.every((s) => inHost(s) && isRunning(s)));
      const a = path.join(dir, 'a');
      const pid = logPid(a);
      assert.equal(cmdline(pid), 'svlogd -tt ./main');
      assert.equal(fs.readFileSync(`/proc/${pid}/comm`, 'latin1'), 'svlogd\n');
      assert.equal(fs.realpathSync(`/proc/${pid}/cwd`), fs.realpathSync(path.join(a, 'log')));
      assert.match(run(sv, ['status', a]).out, new RegExp(`; run: log: \\(pid ${pid}\\) \\d+s$`, 'm'));
      const nodes = note(d).filter((p) => exe(p) === fs.realpathSync(process.execPath));
      assert.deepEqual(nodes, hosts(d), 'the host is the only Node process under runsvdir');
      const main = path.join(a, 'log/main');
      await until('lines logged', () => lines(main).length >= 3);
      assert.match(lines(main)[0]!, /^\d{4}-\d\d-\d\d_\d\d:\d\d:\d\d\.\d{5} 1$/);
      assert.equal((fs.statSync(path.join(main, 'current')).mode & 0o777), 0o644);
    } finally {
      await cleanup(d);
    }
  });

  it('runs more loggers than a thread each could wait for: all on one poll', async () => {
    const names = Array.from({ length: 70 }, (_, i) => `s${i}`); // koffi allows 64 waits on worker threads
    const dir = tree(names, 'echo started; exec sleep 1000');
    for (const n of names) {
      fs.mkdirSync(path.join(dir, n, 'log/main'), { recursive: true });
      script(path.join(dir, n, 'log/run'), 'exec svlogd ./main');
    }
    const d = runsvdir('runsvdir', [dir], dir, env);
    try {
      const svcs = names.map((n) => path.join(dir, n));
      await until('every logger in the host', () => svcs.every(inHost), 60000);
      await until('every first line logged', () => svcs.every((s) => lines(path.join(s, 'log/main'))[0] === 'started'), 60000);
      // and every one still waits for more: a second line, from a restart of each service
      for (const s of svcs) run(sv, ['term', s]);
      await until('every second line logged', () => svcs.every((s) => lines(path.join(s, 'log/main')).length === 2), 60000);
      assert.doesNotMatch(d.stderr(), /fatal|warning/);
    } finally {
      await cleanup(d);
    }
  });

  it('sv hup re-reads config, sv alarm rotates, and the log pid stays', async () => {
    const dir = counted(['a'], 'exec svlogd -tt ./main');
    const d = runsvdir('runsvdir', [dir], dir, env);
    try {
      const a = path.join(dir, 'a');
      await until('logger in the host', () => inHost(a));
      const pid = logPid(a);
      const main = path.join(a, 'log/main');
      fs.writeFileSync(path.join(main, 'config'), 'pX:\n');
      assert.equal(run(sv, ['hup', path.join(a, 'log')]).code, 0);
      await until('the prefix of the new config', () => lines(main).some((l) => / X:\d+$/.test(l)));
      assert.equal(run(sv, ['alarm', path.join(a, 'log')]).code, 0);
      await until('current rotated', () => fs.readdirSync(main).some((f) => /^@[0-9a-f]{24}\.s$/.test(f)));
      assert.equal(logPid(a), pid);
      assert.ok(alive(pid));
    } finally {
      await cleanup(d);
    }
  });

  it('loses no line when the log service is told to TERM, is killed, or its stand-in gets a signal by hand', async () => {
    const dir = counted(['a'], 'exec svlogd ./main', '0.005');
    const d = runsvdir('runsvdir', [dir], dir, env);
    try {
      const a = path.join(dir, 'a');
      const log = path.join(a, 'log');
      const main = path.join(log, 'main');
      let pid = 0;
      const restarted = async (what: string): Promise<void> => {
        await until(`${what}: a new stand-in`, () => inHost(a) && logPid(a) !== pid);
        pid = logPid(a);
        const n = lines(main).length;
        await until(`${what}: logging again`, () => lines(main).length > n);
      };
      await restarted('start');
      assert.equal(run(sv, ['term', log]).code, 0);
      await restarted('sv term');
      process.kill(pid, 'SIGKILL');
      await restarted('kill -9');
      process.kill(pid, 'SIGHUP');
      await restarted('kill -HUP');
      process.kill(pid, 'SIGALRM');
      await restarted('kill -ALRM');
      assert.ok(fs.readdirSync(main).some((f) => f.endsWith('.s')), 'ALRM by hand rotated first');
      // sv needs the service's own supervisor answering
      await until('the service supervised', () => supervised(a));
      const down = run(sv, ['down', a]);
      assert.deepEqual([down.code, down.out, down.err], [0, '', ''], 'sv down');
      await until('service down', () => state(a)?.pid === 0);
      const last = lines(main).length;
      await until('logger idle', () => lines(main).length === last, 2000).catch(() => {});
      const got = lines(main).map(Number);
      const max = Math.max(...got);
      const seen = new Set(got);
      const missing = [];
      for (let i = 1; i <= max; i++) if (!seen.has(i)) missing.push(i);
      assert.deepEqual(missing, [], 'every line logged');
      assert.equal(got.length, max, 'each once');
    } finally {
      await cleanup(d);
    }
  });

  it('runs anything else in log/run as it is (a redirection, another svlogd)', async () => {
    const dir = counted(['a', 'b'], 'exec svlogd -tt ./main');
    script(path.join(dir, 'a/log/run'), 'exec svlogd -tt ./main 2>&1');
    script(path.join(dir, 'b/log/run'), 'exec chpst svlogd -tt ./main');
    const d = runsvdir('runsvdir', [dir], dir, env);
    try {
      for (const n of ['a', 'b']) {
        const s = path.join(dir, n);
        await until(`${n}'s log runs`, () => isRunning(path.join(s, 'log')) && lines(path.join(s, 'log/main')).length > 0);
        assert.equal(exe(logPid(s)), fs.realpathSync(process.execPath), `${n}: svlogd, a Node process`);
      }
    } finally {
      await cleanup(d);
    }
  });

  it('gives a logger it cannot set up (current is a directory) to the svlogd program, not blocking the host, no line lost', async () => {
    // a counts 1, 2, ... and notes in ./count the last line it has written to the log pipe
    const dir = tree(['a', 'b'], 'exec sleep 1000');
    const a = path.join(dir, 'a');
    const b = path.join(dir, 'b');
    const log = path.join(a, 'log');
    const main = path.join(log, 'main');
    script(path.join(a, 'run'), 'i=0; while :; do i=$((i+1)); echo $i; echo $i >count; sleep 0.02; done');
    fs.mkdirSync(path.join(main, 'current'), { recursive: true });
    script(path.join(log, 'run'), 'exec svlogd ./main');
    const count = (): number => { try { return Number(fs.readFileSync(path.join(a, 'count'), 'latin1')) || 0; } catch { return 0; } };
    const node = fs.realpathSync(process.execPath);
    const d = runsvdir('runsvdir', [dir], dir, env);
    try {
      await until('b runs', () => isRunning(b));
      // (a child the host has started without waiting is node too until its exec: the program's own words tell it)
      const program = (p: number): boolean => { try { return p > 0 && alive(p) && exe(p) === node && cmdline(p).includes('svlogd'); } catch { return false; } };
      await until('a log service runs as the svlogd program', () => program(logPid(a)));
      const pid = logPid(a);
      assert.match(run(sv, ['status', log]).out, new RegExp(`^run: ${log}: \\(pid ${pid}\\) \\d+s`));
      await until('svlogd pauses', () => /svlogd: pausing: unable to open current: \.\/main: is a directory/.test(d.stderr()));
      assert.equal(cmdline(pid), 'svlogd ./main', 'the program, its title set (node bin/svlogd before)');
      assert.equal(logPid(a), pid);
      // the host supervises on meanwhile
      assert.equal(run(sv, ['down', b]).code, 0);
      await until('b down', () => state(b)?.pid === 0);
      assert.equal(run(sv, ['up', b]).code, 0);
      await until('b up again', () => isRunning(b));
      await until('lines written meanwhile', () => count() >= 20);
      assert.deepEqual(fs.readdirSync(path.join(main, 'current')), [], 'nothing logged yet');
      fs.rmdirSync(path.join(main, 'current'));
      await until('logging', () => lines(main).length >= 20);
      // it stays the svlogd program when it starts again
      assert.equal(run(sv, ['term', log]).code, 0);
      await until('a new svlogd program', () => { const p = logPid(a); return p !== pid && program(p); });
      assert.equal(run(sv, ['down', a]).code, 0);
      await until('a down', () => state(a)?.pid === 0);
      const last = count();
      await until('every line logged', () => lines(main).length >= last);
      const got = lines(main).map(Number);
      assert.deepEqual(got.slice(0, last), Array.from({ length: last }, (_, i) => i + 1), 'every line, once, in order');
      assert.doesNotMatch(d.stderr(), /fatal/);
    } finally {
      await cleanup(d);
    }
  });

  it('writes what the svlogd program writes: selection, prefix, size rotation, a processor', async () => {
    const input = Array.from({ length: 60 }, (_, i) => `${i % 3 ? 'keep' : 'drop'} line ${i}`).join('\n') + '\n';
    const config = 'pP: \ns120\nn20\n-drop*\n!tr a-z A-Z\n';
    const base = tmpdir('svlogd-host-');
    // the program, on a pipe
    const alone = path.join(base, 'alone');
    fs.mkdirSync(alone);
    fs.writeFileSync(path.join(alone, 'config'), config);
    const r = spawnSync('/bin/sh', ['-c', `printf '%s' "$IN" | ${bin('svlogd')} ${alone}`], { env: { ...env, IN: input } });
    assert.equal(r.status, 0, r.stderr.toString());
    // the host, on the log pipe (the service prints once and waits)
    const dir = tree(['a'], `printf '%s' "$IN"; exec sleep 1000`);
    const main = path.join(dir, 'a/log/main');
    fs.mkdirSync(main, { recursive: true });
    fs.writeFileSync(path.join(main, 'config'), config);
    script(path.join(dir, 'a/log/run'), 'exec svlogd ./main');
    const d = runsvdir('runsvdir', [dir], dir, { ...env, IN: input });
    const files = (p: string): string[] => fs.readdirSync(p).filter((f) => f === 'current' || /^@.*\.s$/.test(f))
      .map((f) => fs.readFileSync(path.join(p, f), 'latin1')).sort();
    try {
      const a = path.join(dir, 'a');
      await until('logger in the host', () => inHost(a));
      await until('every processed file', () => JSON.stringify(files(main)) === JSON.stringify(files(alone)) || false, 10000)
        .catch(() => { /* compared below */ });
      assert.deepEqual(files(main), files(alone));
      assert.ok(files(alone).some((t) => t.includes('P: KEEP LINE 1')), 'the processor ran');
    } finally {
      await cleanup(d);
    }
  });
});

describe('svlogd in the runsvdir host, the host killed', { skip: fs.existsSync(standin) ? false : 'no stand-in for this machine (x86-64 only)' }, () => {
  it('a new host runs the logger again on the same pipe: the stand-in stays the log pid, no line lost', async () => {
    const dir = counted(['a'], 'exec svlogd ./main', '0.005');
    const d = runsvdir('runsvdir', [dir], dir, env);
    try {
      const a = path.join(dir, 'a');
      const main = path.join(a, 'log/main');
      await until('logger in the host', () => inHost(a) && lines(main).length > 0);
      const pid = logPid(a);
      for (let k = 0; k < 2; k++) {
        const [host] = hosts(d);
        assert.ok(host);
        process.kill(host, 'SIGKILL');
        await until('a new host', () => { const h = hosts(d); return h.length === 1 && h[0] !== host; });
        const n = lines(main).length;
        await until('logging again', () => lines(main).length > n + 10);
        assert.equal(logPid(a), pid, 'the same stand-in');
      }
      // the log is taken over first: sv needs the service's own supervisor answering
      await until('the service supervised', () => supervised(a));
      const down = run(sv, ['down', a]);
      assert.deepEqual([down.code, down.out, down.err], [0, '', ''], 'sv down');
      const was = state(a)?.pid ?? 0;
      await until('service down', () => state(a)?.pid === 0).catch((e: Error) => {
        throw new Error(`${e.message}: status ${JSON.stringify(state(a))}, pid ${was} ${was && alive(was) ? 'alive' : 'gone'}, `
          + `sv status: ${JSON.stringify(run(sv, ['status', a]))}, runsvdir said: ${JSON.stringify(d.stderr())}`);
      });
      const got = lines(main).map(Number);
      const max = Math.max(...got);
      const seen = new Set(got);
      const missing = [];
      for (let i = 1; i <= max; i++) if (!seen.has(i)) missing.push(i);
      assert.deepEqual(missing, [], 'every line logged');
    } finally {
      await cleanup(d);
    }
  });
});
