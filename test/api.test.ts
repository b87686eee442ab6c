// The Node API (src/api/index.ts, shipped as lib/): status, send, waitFor and
// list, against our runsv and runit's (the same scenario, the same results),
// and the built package used by a small consumer project, typed and run.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { list, NotRunningError, send, status, waitFor, type ProcessStatus } from '../src/api/index.js';
import { alive, bin, execd, noRef, pidOf, ref, root, script, startSupervisor, stopAll, tmpdir, until } from './helpers.js';

after(stopAll);

type Shape = Record<string, unknown>;

/** A status without what differs from run to run (pids, times, the directory). */
function shape(s: ProcessStatus & { dir?: string; log?: ProcessStatus | null }): Shape {
  // what runit's files hold; the fields of supervise/record and ready are tested on their own below
  const { pid, since, dir: _dir, log, ready: _r, readySince: _rs, starts: _s, exitCode: _c, exitSignal: _g, exitedAt: _e,
    permanent: _p, nextStart: _n, ...rest } = s;
  const out: Shape = { ...rest, pid: pid === null ? null : 'N', since: since instanceof Date && !Number.isNaN(since.getTime()) };
  if (log !== undefined) out.log = log && shape(log);
  return out;
}

/** The whole protocol in both directions, on the supervisor `runsv`; returns what it saw, for comparison. */
async function scenario(runsv: string): Promise<Shape[]> {
  const seen: Shape[] = [];
  const dir = path.join(tmpdir('api-'), 'svc');
  // TERM is ignored by the daemon, so `got TERM` stays until KILL
  script(path.join(dir, 'run'), "trap '' TERM\nexec sleep 1000");
  script(path.join(dir, 'log/run'), 'exec cat >/dev/null');
  const begun = Date.now() - 2000; // runit's clock and ours may differ by the second's rounding
  const sup = startSupervisor(runsv, [dir]);
  try {
    const up = await waitFor(dir, 'up', { timeout: 15000 });
    await execd(up.pid!);
    const s = status(dir);
    assert.equal(s.dir, dir);
    assert.equal(s.pid, pidOf(dir));
    assert.equal(s.log!.pid, pidOf(path.join(dir, 'log')));
    assert.ok(s.since.getTime() >= begun && s.since.getTime() <= Date.now() + 1000, `since ${s.since.toISOString()}`);
    seen.push(shape(s));

    send(dir, 'pause');
    await until('paused', () => status(dir).paused);
    seen.push(shape(status(dir)));
    send(dir, 'cont');
    await until('continued', () => !status(dir).paused);

    send(dir, 'term');
    await until('got TERM', () => status(dir).gotTerm);
    seen.push(shape(status(dir)));

    fs.writeFileSync(path.join(dir, 'down'), '');
    send(dir, 'down', 'kill');
    const down = await waitFor(dir, 'down', { timeout: 15000 });
    assert.equal(down.state, 'down');
    seen.push(shape(down));

    // the log service is a supervised process of its own
    send(path.join(dir, 'log'), 'cont');
    assert.equal(status(path.join(dir, 'log')).log, null);

    fs.unlinkSync(path.join(dir, 'down'));
    send(dir, 'once');
    const once = await until('started once', () => status(dir).state === 'run').then(() => status(dir));
    seen.push(shape(once));

    send(dir, 'exit', 'kill'); // its TERM is ignored
    await until('runsv exited', () => sup.child.exitCode !== null);
    assert.equal(sup.child.exitCode, 0);
    assert.throws(() => status(dir), (e: unknown) => e instanceof NotRunningError && e.code === 'ERR_RUNSV_NOT_RUNNING' && e.dir === dir);
    assert.throws(() => send(dir, 'up'), NotRunningError);
    // nothing supervises it now (nor may ever): waited for until the timeout
    await assert.rejects(waitFor(dir, 'up', { timeout: 200 }), { name: 'TimeoutError' });
    await until('its service gone', () => !alive(once.pid!));
  } finally {
    await stopAll();
  }
  return seen;
}

describe('API against a supervisor', () => {
  const traces: Record<string, Shape[]> = {};

  test('ours: status, send and waitFor in both directions', async () => {
    traces.ours = await scenario(bin('runsv'));
    assert.deepEqual(traces.ours[0], {
      state: 'run', pid: 'N', since: true, want: 'up', paused: false, gotTerm: false, normallyUp: true,
      log: { state: 'run', pid: 'N', since: true, want: 'up', paused: false, gotTerm: false, normallyUp: true },
    });
    assert.equal(traces.ours[1]!.paused, true);
    assert.equal(traces.ours[2]!.gotTerm, true);
    assert.deepEqual([traces.ours[3]!.state, traces.ours[3]!.want, traces.ours[3]!.pid, traces.ours[3]!.normallyUp], ['down', 'down', null, false]);
    assert.deepEqual([traces.ours[4]!.state, traces.ours[4]!.want], ['run', 'down']); // once: not restarted
  });

  test("runit's runsv: the same", { skip: noRef }, async () => {
    traces.ref = await scenario(ref('runsv')!);
    assert.deepEqual(traces.ref, traces.ours);
  });

  test('waitFor: after a time, and giving up on its timeout and its signal', async () => {
    const dir = path.join(tmpdir('api-'), 'svc');
    script(path.join(dir, 'run'), 'exec sleep 1000');
    startSupervisor(bin('runsv'), [dir]);
    try {
      const first = await waitFor(dir, 'up', { timeout: 15000 });
      // a restart: only the state entered after it was asked for counts
      const asked = new Date();
      send(dir, 'term', 'cont', 'up');
      const again = await waitFor(dir, 'up', { after: asked, timeout: 15000 });
      assert.notEqual(again.pid, first.pid);
      assert.ok(again.since >= asked);
      await assert.rejects(waitFor(dir, 'down', { timeout: 100 }), { name: 'TimeoutError' });
      const ac = new AbortController();
      const waiting = waitFor(dir, 'down', { signal: ac.signal });
      const why = new Error('no longer needed');
      ac.abort(why);
      await assert.rejects(waiting, (e) => e === why);
      await assert.rejects(waitFor(dir, 'up', { signal: AbortSignal.abort() }), { name: 'AbortError' });
      await assert.rejects(waitFor(dir, 'ready' as 'up'), TypeError);
      assert.throws(() => send(dir, 'bogus' as 'up'), TypeError);
    } finally {
      await stopAll();
    }
  });

  test('up waits for ./check to pass, as sv does (check: false does not)', async () => {
    const dir = path.join(tmpdir('api-'), 'svc');
    script(path.join(dir, 'run'), 'exec sleep 1000');
    script(path.join(dir, 'check'), 'test -e ready');
    startSupervisor(bin('runsv'), [dir]);
    try {
      await until('running', () => status(dir).state === 'run');
      assert.equal((await waitFor(dir, 'up', { check: false })).state, 'run');
      await assert.rejects(waitFor(dir, 'up', { timeout: 1500 }), { name: 'TimeoutError' });
      fs.writeFileSync(path.join(dir, 'ready'), '');
      assert.equal((await waitFor(dir, 'up', { timeout: 15000 })).state, 'run');
    } finally {
      await stopAll();
    }
  });
});

describe('list', () => {
  test('the services runsvdir would supervise: directories and links to them, no dot names, a directory once', () => {
    const d = tmpdir('api-list-');
    for (const n of ['b', 'a', '.hidden']) fs.mkdirSync(path.join(d, n));
    fs.writeFileSync(path.join(d, 'file'), '');
    const elsewhere = tmpdir('api-list-');
    fs.symlinkSync(elsewhere, path.join(d, 'c'));
    fs.symlinkSync(path.join(d, 'nowhere'), path.join(d, 'dangling'));
    fs.symlinkSync('a', path.join(d, 'z-alias-of-a'));
    assert.deepEqual(list(d), ['a', 'b', 'c']);
    assert.throws(() => list(path.join(d, 'missing')), { code: 'ENOENT' });
  });
});

describe('the built package in a consumer project', () => {
  const proj = tmpdir('api-consumer-');
  fs.mkdirSync(path.join(proj, 'node_modules'));
  fs.symlinkSync(root, path.join(proj, 'node_modules/runit-ts'));
  fs.symlinkSync(path.join(root, 'node_modules/@types'), path.join(proj, 'node_modules/@types'));
  fs.writeFileSync(path.join(proj, 'package.json'), '{ "type": "module", "private": true }\n');
  const tsconfig = (files: string[]) => JSON.stringify({
    compilerOptions: { module: 'nodenext', moduleResolution: 'nodenext', target: 'es2022', strict: true, noEmit: true, types: ['node'] },
    files,
  });
  const tsc = (config: string) => spawnSync(process.execPath, [path.join(root, 'node_modules/typescript/bin/tsc'), '-p', config], { cwd: proj, encoding: 'utf8' });

  test('its typings check, for import and for require', () => {
    fs.writeFileSync(path.join(proj, 'esm.ts'), `import { list, NotRunningError, send, status, waitFor, type Command, type ProcessStatus, type ServiceStatus, type State } from 'runit-ts';
const s: ServiceStatus = status('/etc/service/sshd');
const pid: number | null = s.pid;
const since: Date = s.since;
const state: State = s.state;
const log: ProcessStatus | null = s.log;
const flags: boolean[] = [s.paused, s.gotTerm, s.normallyUp];
const want: 'up' | 'down' = s.want;
const cmds: Command[] = ['term', 'cont', 'up'];
send(s.dir, ...cmds);
const later: Promise<ServiceStatus> = waitFor(s.dir, 'down', { timeout: 7000, signal: AbortSignal.timeout(100), interval: 10, check: false });
const names: string[] = list('/etc/service');
const e = new NotRunningError('/x');
const code: 'ERR_RUNSV_NOT_RUNNING' = e.code;
export { pid, since, state, log, flags, want, later, names, code };
`);
    fs.writeFileSync(path.join(proj, 'cjs.cts'), `import runit = require('runit-ts');
const s: runit.ServiceStatus = runit.status('.');
export = s.log?.state;
`);
    fs.writeFileSync(path.join(proj, 'tsconfig.json'), tsconfig(['esm.ts', 'cjs.cts']));
    const r = tsc('tsconfig.json');
    assert.equal(r.status, 0, r.stdout + r.stderr);
  });

  test('the typings are not loose: a wrong call does not check', () => {
    fs.writeFileSync(path.join(proj, 'bad.ts'), `import { send, waitFor } from 'runit-ts';
send('/x', 'bogus');
waitFor('/x', 'sideways');
`);
    fs.writeFileSync(path.join(proj, 'tsconfig.bad.json'), tsconfig(['bad.ts']));
    const r = tsc('tsconfig.bad.json');
    assert.notEqual(r.status, 0);
    assert.match(r.stdout, /bad\.ts\(2,\d+\): error TS2345: .*"bogus"/);
    assert.match(r.stdout, /bad\.ts\(3,\d+\): error TS2345: .*"sideways"/);
  });

  test('it runs as ESM and as CommonJS', () => {
    const d = tmpdir('api-consumer-list-');
    fs.mkdirSync(path.join(d, 'svc'));
    fs.writeFileSync(path.join(proj, 'run.mjs'), "import { list } from 'runit-ts'; console.log(list(process.argv[2]).join());\n");
    fs.writeFileSync(path.join(proj, 'run.cjs'), "const { list, NotRunningError } = require('runit-ts'); console.log(list(process.argv[2]).join(), typeof NotRunningError);\n");
    const esm = spawnSync(process.execPath, ['run.mjs', d], { cwd: proj, encoding: 'utf8' });
    assert.equal(esm.stdout, 'svc\n', esm.stderr);
    const cjs = spawnSync(process.execPath, ['run.cjs', d], { cwd: proj, encoding: 'utf8' });
    assert.equal(cjs.stdout, 'svc function\n', cjs.stderr);
  });

  test('it loads neither koffi nor any program', () => {
    for (const f of ['lib/index.js', 'lib/index.cjs']) {
      const text = fs.readFileSync(path.join(root, f), 'utf8');
      assert.doesNotMatch(text, /koffi/);
    }
  });
});

describe('API: readiness and the record (our runsv)', () => {
  test('status has ready, starts and the last exit; waitFor up waits for readiness', async () => {
    const dir = path.join(tmpdir('api-'), 'svc');
    script(path.join(dir, 'run'), 'n=$(cat n 2>/dev/null || echo 0); echo $((n + 1)) > n; [ $n = 0 ] && exit 7; while [ ! -e go ]; do sleep 0.02; done; echo >&5; exec sleep 1000');
    fs.writeFileSync(path.join(dir, 'notification-fd'), '5\n');
    try {
      startSupervisor(bin('runsv'), [dir]);
      const waiting = waitFor(dir, 'up', { timeout: 30000 });
      let settled = false;
      void waiting.then(() => { settled = true; }, () => { settled = true; });
      await until('second run up', () => { const s = status(dir); return s.starts === 2 && s.state === 'run'; });
      const before = status(dir);
      assert.equal(before.ready, false);
      assert.equal(before.exitCode, 7);
      assert.equal(before.exitSignal, null);
      assert.ok(before.exitedAt instanceof Date);
      assert.equal(before.permanent, false);
      assert.equal(settled, false, 'waitFor up waits for readiness');
      fs.writeFileSync(path.join(dir, 'go'), '');
      const s = await waiting;
      assert.equal(s.ready, true);
      assert.ok(s.readySince instanceof Date);
    } finally {
      await stopAll();
    }
  });
});
