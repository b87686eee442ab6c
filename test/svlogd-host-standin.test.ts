// The stand-in of a logger the runsvdir host runs itself is started on a
// worker thread (src/runsvdir/logger.ts takeOver, children.startAsync): until
// its pid is known the log service is held, as a starting ./run is
// (src/supervise/service.ts startRun). What comes meanwhile waits for it.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import * as control from '../src/supervise/control.js';
import * as record from '../src/supervise/record.js';
import { STATE } from '../src/supervise/status.js';
import { alive, normalize, ref, root, run, script, tmpdir, until } from './helpers.js';
import { cleanup, cleanupAll, isRunning, note, runsvdir, state, sv, tree } from './runsvdir-fixtures.js';

after(cleanupAll);

const standin = path.join(root, 'libexec/svlogd');
const skip = fs.existsSync(standin) ? false : 'no stand-in for this machine (x86-64 only)';
const withBin = (dir: string): NodeJS.ProcessEnv => ({ ...process.env, PATH: `${dir}:${process.env.PATH ?? '/bin:/usr/bin'}` });
const ours = withBin(path.join(root, 'bin'));
const exe = (pid: number): string => { try { return fs.realpathSync(`/proc/${pid}/exe`); } catch { return ''; } };
const cmdline = (pid: number): string => fs.readFileSync(`/proc/${pid}/cmdline`, 'latin1').split('\0').join(' ').trim();
const logPid = (svc: string): number => state(path.join(svc, 'log'))?.pid ?? 0;
const read = (file: string): string => { try { return fs.readFileSync(file, 'latin1'); } catch { return ''; } };
/** Lines in a log directory: the rotated files, then current. */
const lines = (dir: string): string[] => fs.readdirSync(dir).filter((f) => /^@.*\.[su]$/.test(f)).sort().concat('current')
  .flatMap((f) => read(path.join(dir, f)).split('\n').filter(Boolean));

/**
 * Services s0..s(n-1), each printing `started` and logged by `exec svlogd
 * -tt ./main`. Since a host starts at most three programs at once, and the
 * main thread hands out the next only when one is done, all but the first
 * logs' stand-ins are started after the supervisor's first look at its
 * control FIFOs.
 */
function logged(n: number): { dir: string; svcs: string[] } {
  const names = Array.from({ length: n }, (_, i) => `s${i}`);
  const dir = tree(names, 'echo started; exec sleep 1000');
  for (const s of names) {
    fs.mkdirSync(path.join(dir, s, 'log/main'), { recursive: true });
    script(path.join(dir, s, 'log/run'), 'exec svlogd -tt ./main');
  }
  return { dir, svcs: names.map((s) => path.join(dir, s)) };
}

/**
 * `cmd` waiting in each log service's control FIFO before its supervisor
 * starts (a FIFO keeps what is written while one holds it open): the
 * supervisor reads it at its first look, before it knows the stand-in's pid.
 * Close the descriptors once the supervisors hold the FIFOs.
 */
function written(svcs: string[], cmd: string): number[] {
  return svcs.map((s) => {
    const sup = path.join(s, 'log/supervise');
    fs.mkdirSync(sup, { mode: 0o700 });
    assert.equal(spawnSync('mkfifo', ['-m', '0600', path.join(sup, 'control')]).status, 0);
    const fd = fs.openSync(path.join(sup, 'control'), fs.constants.O_RDWR | fs.constants.O_NONBLOCK);
    fs.writeSync(fd, cmd);
    return fd;
  });
}

/** Is the log service's supervisor there (supervise/ok held open)? */
const logSupervised = (svc: string): boolean => {
  try { return control.running(path.join(svc, 'log/supervise')); } catch { return false; }
};

/** runsvdir, its host and svlogd installed in a directory of their own, with `standinAs` making its stand-in. */
function installation(standinAs: (file: string) => void): string {
  const inst = tmpdir('standin-inst-');
  for (const f of ['bin/runsvdir', 'bin/svlogd', 'bin/package.json', 'libexec/runsvdir-host', 'libexec/package.json']) {
    fs.mkdirSync(path.join(inst, path.dirname(f)), { recursive: true });
    fs.copyFileSync(path.join(root, f), path.join(inst, f));
  }
  standinAs(path.join(inst, 'libexec/svlogd'));
  fs.symlinkSync(path.join(root, 'node_modules'), path.join(inst, 'node_modules'));
  return inst;
}

describe('svlogd in the runsvdir host: the stand-in started on a worker thread', { skip }, () => {
  it('sv down on log before the stand-in\'s pid is known: the log service goes down, as runit\'s does', async () => {
    const seen: Record<string, string[]> = {};
    const whose = ref('runsvdir') && ref('svlogd') ? ['ours', 'theirs'] as const : ['ours'] as const;
    for (const who of whose) {
      const { dir, svcs } = logged(6);
      const fds = written(svcs, 'd');
      const d = runsvdir('runsvdir', [dir], dir, who === 'ours' ? ours : withBin('/usr/bin'));
      try {
        await until('every log supervised', () => svcs.every(logSupervised));
        for (const fd of fds) fs.closeSync(fd);
        const allDown = (): boolean => svcs.every((s) => {
          const l = state(path.join(s, 'log'));
          return isRunning(s) && l?.state === STATE.down && l.pid === 0 && l.want === 'd';
        });
        const why = (e: Error): never => { throw new Error(`${e.message}:\n${svcs.map((s) => run(sv, ['status', s]).out).join('')}`); };
        if (who === 'ours') await until('ours: every service up, every log service down', allDown, 30000).catch(why);
        else {
          // runit's runsv can lose the TERM of a d to its own handler: sent while the
          // forked child has not yet reset it before exec'ing svlogd, it is caught in
          // the child and svlogd runs on (`run: log: ..., want down, got TERM` for
          // good; seen more often on a busy machine). runsv sends TERM again on each d,
          // but `sv down` sends none when want is already down, so write the d into the
          // control FIFO again, every ~2 s, until every log service is down (bounded)
          let polls = 0;
          await until('theirs: every service up, every log service down', () => {
            if (allDown()) return true;
            if (++polls % 100 === 0) {
              for (const s of svcs) if (state(path.join(s, 'log'))?.pid) control.send(path.join(s, 'log/supervise'), 'd');
            }
            return false;
          }, 40000).catch(why);
        }
        if (who === 'ours') assert.deepEqual(note(d).filter((p) => exe(p) === standin), [], 'no stand-in left');
        seen[who] = svcs.map((s) => normalize(run(sv, ['status', s]).out).split(dir).join('DIR'));
        if (who === 'ours') {
          // what each service printed waited in the pipe: logged once the log service is up
          assert.equal(run(sv, ['up', path.join(svcs[5]!, 'log')]).code, 0);
          await until('the line logged', () => lines(path.join(svcs[5]!, 'log/main')).some((l) => / started$/.test(l)));
        }
      } finally {
        await cleanup(d);
      }
    }
    assert.match(seen['ours']![5]!, /^run: DIR\/s5: \(pid N\) Ns; down: log: Ns, normally up$/m);
    if (seen['theirs']) assert.deepEqual(seen['ours'], seen['theirs']);
  });

  it('sv alarm on log before the stand-in\'s pid is known: the engine rotates once it runs', async () => {
    const { dir, svcs } = logged(6);
    for (const s of svcs) {
      // a current an svlogd finished (its owner's x bit set; else it is kept as unprocessed, a .u)
      fs.writeFileSync(path.join(s, 'log/main/current'), 'from before\n');
      fs.chmodSync(path.join(s, 'log/main/current'), 0o744);
    }
    const fds = written(svcs, 'a');
    const d = runsvdir('runsvdir', [dir], dir, ours);
    try {
      await until('every log supervised', () => svcs.every(logSupervised));
      for (const fd of fds) fs.closeSync(fd);
      const rotated = (s: string): boolean => fs.readdirSync(path.join(s, 'log/main'))
        .some((f) => /^@[0-9a-f]{24}\.s$/.test(f) && read(path.join(s, 'log/main', f)).startsWith('from before\n'));
      await until('every current rotated', () => svcs.every(rotated));
      await until('every line logged', () => svcs.every((s) => lines(path.join(s, 'log/main')).some((l) => / started$/.test(l))));
      for (const s of svcs) {
        const pid = logPid(s);
        assert.ok(pid > 0 && alive(pid) && exe(pid) === standin, `${s}: the stand-in runs on`);
        assert.equal(lines(path.join(s, 'log/main')).filter((l) => l.endsWith('from before')).length, 1, 'the old line once');
      }
    } finally {
      await cleanup(d);
    }
  });

  it('shows the log service running, with its stand-in\'s pid, from the moment sv sees the service', async () => {
    const { dir, svcs } = logged(20);
    const d = runsvdir('runsvdir', [dir], dir, ours);
    try {
      const checked = new Set<string>();
      let first = '';
      await until('every service seen', () => {
        for (const s of svcs) {
          // ok is opened once both statuses are written: the first one sv can see is the one to check
          if (checked.has(s) || !control.running(path.join(s, 'supervise'))) continue;
          const l = state(path.join(s, 'log'));
          assert.equal(l?.state, STATE.run, `${s}: log runs`);
          assert.ok(l.pid > 0 && exe(l.pid) === standin, `${s}: its pid is the stand-in's (${l.pid})`);
          if (!first) first = s;
          checked.add(s);
        }
        return checked.size === svcs.length;
      }, 60000);
      const pid = logPid(first);
      assert.match(run(sv, ['status', first]).out, new RegExp(`; run: log: \\(pid ${pid}\\) \\d+s$`, 'm'));
      assert.equal(cmdline(pid), 'svlogd -tt ./main');
    } finally {
      await cleanup(d);
    }
  });

  it('starts the log service again when its stand-in ends at once, as when svlogd exits', async () => {
    // every stand-in is `true`: it may be reaped before its pid is known
    const inst = installation((file) => fs.copyFileSync('/bin/true', file));
    const { dir, svcs } = logged(3);
    const d = runsvdir(path.join(inst, 'bin/runsvdir'), [dir], dir, withBin(path.join(inst, 'bin')));
    try {
      // each start counted once its pid was known, each end as the stand-in's exit (true's 0)
      const rec = (s: string): record.Record | null => record.read(path.join(s, 'log/supervise'));
      await until('each log service started three times', () => svcs.every((s) => {
        const r = rec(s);
        return r !== null && r.starts >= 3 && r.exitCode === 0;
      }), 30000);
      await until('every line logged', () => svcs.every((s) => lines(path.join(s, 'log/main')).some((l) => / started$/.test(l))));
      assert.doesNotMatch(d.stderr(), /fatal|warning/);
    } finally {
      await cleanup(d);
    }
  });

  it('runs log/run as it is when the stand-in cannot be started', async () => {
    // a stand-in that is executable but no program: exec fails (ENOEXEC)
    const inst = installation((file) => fs.writeFileSync(file, 'no program\n', { mode: 0o755 }));
    const { dir, svcs } = logged(3);
    const d = runsvdir(path.join(inst, 'bin/runsvdir'), [dir], dir, withBin(path.join(inst, 'bin')));
    const node = fs.realpathSync(process.execPath);
    try {
      await until('every log service runs', () => svcs.every((s) => isRunning(path.join(s, 'log'))), 30000);
      await until('every line logged', () => svcs.every((s) => lines(path.join(s, 'log/main')).some((l) => / started$/.test(l))), 30000);
      // (a stand-in started in the first burst is not waited for: its failed
      // exec is known when it has ended, and the log service is then started
      // again, as ./run; the host's engine logged meanwhile)
      const program = (s: string): boolean => {
        const pid = logPid(s);
        try { return pid > 0 && exe(pid) === node && cmdline(pid) === 'svlogd -tt ./main'; } catch { return false; }
      };
      await until('every log service is the svlogd program, its title set', () => svcs.every(program), 30000);
      for (const s of svcs) {
        const pid = logPid(s);
        assert.match(run(sv, ['status', s]).out, new RegExp(`; run: log: \\(pid ${pid}\\) \\d+s$`, 'm'));
      }
      assert.doesNotMatch(d.stderr(), /fatal|warning/);
    } finally {
      await cleanup(d);
    }
  });
});
