// runsvdir over real processes: man runsvdir, item by item, and the process
// model (one scanner and one supervision host, whatever the number of services).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { alive, bin, execd, read, run, script, sleep, tmpdir, until } from './helpers.js';
import {
  cleanup, cleanupAll, hosts, isRunning, note, runsvdir, state, supervised, sv, tree,
} from './runsvdir-fixtures.js';
import { NODE_FLAGS } from '../src/runsvdir/link.js';

after(cleanupAll);

const program = bin('runsvdir');
const sessionOf = (pid: number): number => Number(fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')[3]);

describe('runsvdir', () => {
  it('prints its usage and exits 1 without a directory', () => {
    const r = run(program, []);
    assert.equal(r.code, 1);
    assert.equal(r.err, `usage: ${program} [-P] dir\n\n`, 'named as called, as runit\'s');
  });

  it('starts Node once, with the host\'s flags, from its #! line (and again itself when run as node bin/runsvdir); given words, the host beside it', (t) => {
    const strace = ['/usr/bin/strace', '/bin/strace'].find((p) => fs.existsSync(p));
    if (!strace) { t.skip('strace not installed (apt-get install strace)'); return; }
    // one file a process (-ff): two execs at once are not split into unfinished halves
    const dir = tmpdir();
    let lines: string[] = [];
    const nodeExecs = (argv: string[]): string[][] => {
      for (const f of fs.readdirSync(dir)) fs.rmSync(path.join(dir, f));
      run(strace, ['-ff', '-qq', '-s', '4096', '-e', 'trace=execve', '-e', 'signal=none', '-o', path.join(dir, 'trace'), ...argv]);
      lines = fs.readdirSync(dir).sort((x, y) => Number(x.split('.')[1]) - Number(y.split('.')[1]))
        .flatMap((f) => fs.readFileSync(path.join(dir, f), 'utf8').split('\n'));
      return lines.filter((l) => /^execve\("[^"]*\/node", .* = 0$/.test(l))
        .map((l) => [...l.matchAll(/"(--[^"]+)"/g)].map((m) => m[1]!));
    };
    assert.deepEqual(nodeExecs([program]), [NODE_FLAGS], 'one node, with the flags');
    assert.deepEqual(nodeExecs([process.execPath, program]), [[], NODE_FLAGS], 'node bin/runsvdir: started again with them');
    // given words, the launcher (x86-64) starts the host beside it: each once, with the flags
    // (a bad -M: runsvdir says so and exits, the host exits with it)
    const both = nodeExecs([program, '-M', 'nowhere', tmpdir()]);
    if (fs.existsSync(path.join(path.dirname(program), '../libexec/runsvdir-start'))) {
      assert.deepEqual(both, [NODE_FLAGS, NODE_FLAGS], 'the host and runsvdir, with the flags');
      assert.equal(lines.filter((l) => /^execve\("[^"]*\/node"/.test(l) && l.includes(`"${NODE_FLAGS.at(-1)}", "${path.dirname(program)}/../libexec/runsvdir-host", "${program}"`)).length, 1, 'one of them the host');
    } else {
      assert.deepEqual(both, [NODE_FLAGS], 'one node, with the flags');
    }
  });

  it('supervises subdirectories and symlinks to directories, skipping dot names and files', async () => {
    const dir = tree(['a', '.hidden']);
    const outside = path.join(path.dirname(dir), 'outside');
    script(path.join(outside, 'run'), 'exec sleep 1000');
    fs.symlinkSync(outside, path.join(dir, 'b'));
    fs.symlinkSync('a', path.join(dir, 'a2')); // the same directory as a: supervised once
    fs.writeFileSync(path.join(dir, 'file'), '');
    fs.symlinkSync('/nonexistent', path.join(dir, 'broken'));
    const d = runsvdir(program, [dir], dir);
    await until('a and b run', () => isRunning(path.join(dir, 'a')) && isRunning(outside));
    assert.ok(!fs.existsSync(path.join(dir, '.hidden/supervise')), 'dot names are skipped');
    assert.equal(hosts(d).length, 1, 'one supervision host');
    await until('the broken link is reported', () => d.stderr().includes('unable to stat broken: file does not exist'));
    assert.match(d.stderr(), new RegExp(`^runsvdir ${dir}: warning: unable to stat broken: file does not exist$`, 'm'));
    const r = run(sv, ['status', path.join(dir, 'a'), path.join(dir, 'b')]);
    assert.match(r.out, /^run: .*\/a: \(pid \d+\)/m);
    assert.match(r.out, /^run: .*\/b: \(pid \d+\)/m);
    await cleanup(d);
  });

  it('brings up 200 services in two processes, all reported run by sv', async () => {
    const names = Array.from({ length: 200 }, (_, i) => `s${i}`);
    const dir = tree(names);
    const d = runsvdir(program, [dir], dir);
    const svcs = names.map((n) => path.join(dir, n));
    await until('all 200 run', () => svcs.every(isRunning), 60000);
    const r = run(sv, ['status', ...svcs]);
    const lines = r.out.trim().split('\n');
    assert.equal(lines.length, 200);
    assert.ok(lines.every((l) => l.startsWith('run: ')), r.out);
    // runsvdir and one host: every other process under runsvdir is a service's sleep
    // (status says run as soon as ./run is started, before it has exec'd sleep),
    // or for a moment some helper a supervisor starts (a page-out holder's sh
    // once was): the supervisors are told by their executable, node
    for (const s of svcs) await execd(state(s)!.pid);
    const pids = note(d);
    const nodeExe = fs.realpathSync(process.execPath);
    const node = pids.filter((p) => { try { return fs.readlinkSync(`/proc/${p}/exe`) === nodeExe; } catch { return false; } });
    assert.equal(node.length, 1, 'one supervisor process besides runsvdir');
    const services = new Set(svcs.map((s) => state(s)!.pid));
    assert.equal(pids.filter((p) => services.has(p)).length, 200, 'every service\'s sleep under it');
    await cleanup(d);
  });

  it('starts a service added to the directory and stops one removed from it', async () => {
    const dir = tree(['a']);
    const spare = path.join(path.dirname(dir), 'spare');
    script(path.join(spare, 'run'), 'exec sleep 1000');
    const d = runsvdir(program, [dir], dir);
    await until('a runs', () => isRunning(path.join(dir, 'a')));
    fs.symlinkSync(spare, path.join(dir, 'new'));
    await until('the new service runs', () => isRunning(spare));
    const pid = state(spare)!.pid;
    fs.unlinkSync(path.join(dir, 'new'));
    await until('its supervision ends', () => !supervised(spare));
    assert.ok(!alive(pid), 'the service was stopped');
    assert.equal(state(spare)!.state, 0, 'status says down');
    await sleep(1500);
    assert.ok(!supervised(spare), 'and it is not restarted');
    assert.ok(isRunning(path.join(dir, 'a')), 'the others are left alone');
    await cleanup(d, [path.dirname(spare)]);
  });

  it('follows dir to another directory when the link it names is switched (the five-second check; inotify does not see it)', async () => {
    // As runsvchdir switches /etc/runit/runsvdir/current under /etc/service.
    const base = tmpdir('runsvdir-');
    for (const level of ['one', 'two']) script(path.join(base, level, level === 'one' ? 'a' : 'b', 'run'), 'exec sleep 1000');
    const current = path.join(base, 'current');
    fs.symlinkSync('one', current);
    const d = runsvdir(program, [current], current);
    await until('a runs', () => isRunning(path.join(base, 'one/a')));
    const pid = state(path.join(base, 'one/a'))!.pid;
    fs.symlinkSync('two', path.join(base, 'current.new'));
    fs.renameSync(path.join(base, 'current.new'), current);
    await until('b runs', () => isRunning(path.join(base, 'two/b')));
    await until('a is no longer supervised', () => !supervised(path.join(base, 'one/a')));
    assert.ok(!alive(pid), 'a was stopped');
    await cleanup(d, [path.join(base, 'one'), path.join(base, 'two')]);
  });

  it('TERM: exits 0 at once; services stay supervised and sv down still works', async () => {
    const dir = tree(['a', 'b']);
    const d = runsvdir(program, [dir], dir);
    const a = path.join(dir, 'a');
    await until('both run', () => isRunning(a) && isRunning(path.join(dir, 'b')));
    note(d);
    process.kill(d.pid, 'SIGTERM');
    assert.equal(await d.exited, 0);
    const pid = state(a)!.pid;
    assert.match(run(sv, ['status', a]).out, /^run: /);
    assert.equal(run(sv, ['down', a]).code, 0);
    await until('a is down', () => state(a)!.state === 0);
    assert.ok(!alive(pid));
    assert.match(run(sv, ['status', a]).out, /^down: .*normally up/);
    assert.ok(isRunning(path.join(dir, 'b')), 'b still runs');
    assert.equal(run(sv, ['up', a]).code, 0);
    await until('a runs again', () => isRunning(a));
    await cleanup(d);
  });

  it('HUP: every service is stopped, supervision ends, and runsvdir exits 111', async () => {
    const dir = tree(['a', 'b', 'c']);
    const d = runsvdir(program, [dir], dir);
    const svcs = ['a', 'b', 'c'].map((n) => path.join(dir, n));
    await until('all run', () => svcs.every(isRunning));
    const pids = svcs.map((s) => state(s)!.pid);
    const host = hosts(d);
    process.kill(d.pid, 'SIGHUP');
    assert.equal(await d.exited, 111);
    await until('supervision ended', () => svcs.every((s) => !supervised(s)));
    assert.ok(pids.every((p) => !alive(p)), 'services stopped');
    await until('the host exited', () => host.every((p) => !alive(p)));
    await cleanup(d);
  });

  it('one broken service directory does not disturb the others', async () => {
    const dir = tree(['good1', 'bad', 'good2', 'norun']);
    fs.writeFileSync(path.join(dir, 'bad/supervise'), 'not a directory');
    fs.rmSync(path.join(dir, 'norun/run'));
    const d = runsvdir(program, [dir], dir);
    await until('good ones run', () => isRunning(path.join(dir, 'good1')) && isRunning(path.join(dir, 'good2')));
    await until('bad reported twice (retried)', () =>
      d.stderr().split('runsv bad: fatal: unable to open supervise/lock: not a directory\n').length > 2);
    await until('norun reported', () => d.stderr().includes('runsv norun: fatal: unable to start ./run: file does not exist'));
    assert.match(run(sv, ['status', path.join(dir, 'norun')]).out, /^down: /, 'norun is supervised, down');
    assert.ok(isRunning(path.join(dir, 'good1')) && isRunning(path.join(dir, 'good2')));
    // Fixed, it gets supervised on the next try, as runsvdir restarts runsv.
    fs.rmSync(path.join(dir, 'bad/supervise'));
    await until('bad now runs', () => isRunning(path.join(dir, 'bad')));
    await cleanup(d);
  });

  it('restarts a supervision that died, taking over its ./run', async () => {
    const dir = tree(['a']);
    const a = path.join(dir, 'a');
    const d = runsvdir(program, [dir], dir);
    await until('a runs', () => isRunning(a));
    const old = state(a)!.pid;
    const [host] = hosts(d);
    process.kill(host!, 'SIGKILL');
    await until('a supervised again', () => supervised(a) && hosts(d).some((p) => p !== host));
    assert.equal(state(a)!.pid, old, 'the ./run the dead host left is supervised, not started twice');
    assert.ok(isRunning(a));
    // `sv exit` ends one runsv (and its service); runsvdir starts it again.
    run(sv, ['exit', a]);
    await until('a supervised again after exit', () => isRunning(a) && state(a)!.pid !== old);
    assert.ok(!alive(old), 'the taken-over ./run was stopped');
    await cleanup(d);
  });

  it('SIGUSR1 kills the host and runsvdir, as it kills runit\'s (no debugger port)', async () => {
    const dir = tree(['a']);
    const a = path.join(dir, 'a');
    const d = runsvdir(program, [dir], dir);
    await until('a runs', () => isRunning(a));
    note(d);
    const old = state(a)!.pid;
    const [host] = hosts(d);
    process.kill(host!, 'SIGUSR1');
    await until('a supervised by a new host', () => supervised(a) && hosts(d)[0] !== host && hosts(d).length === 1);
    note(d);
    process.kill(d.pid, 'SIGUSR1');
    await d.exited;
    assert.equal(d.child.signalCode, 'SIGUSR1');
    assert.doesNotMatch(d.stderr(), /Debugger/);
    assert.equal(state(a)!.pid, old, 'taken over by the new host');
    await cleanup(d);
  });

  it('-P: each service runs in a new session', async () => {
    const dir = tree(['a']);
    const a = path.join(dir, 'a');
    const d = runsvdir(program, ['-P', dir], dir);
    await until('a runs', () => isRunning(a));
    const pid = state(a)!.pid;
    // (status says run once ./run is started: its setsid, as in runit's
    // runsv's child, may come a moment after)
    await until('a leads a session of its own', () => sessionOf(pid) === pid);
    assert.notEqual(sessionOf(pid), sessionOf(d.pid));
    await cleanup(d);

    const d2 = runsvdir(program, [dir], dir);
    await until('a runs', () => isRunning(a));
    assert.equal(sessionOf(state(a)!.pid), sessionOf(d2.pid), 'without -P: runsvdir\'s session');
    await cleanup(d2);
  });

  it('log: standard error goes into the process title, newest last', async () => {
    const dir = tree([]);
    script(path.join(dir, 'talk/run'), 'echo hello-from-talk >&2; exec sleep 1000');
    const log = 'log: ' + '.'.repeat(60);
    const d = runsvdir(program, [dir, log], dir);
    await until('message in the title', () => read(`/proc/${d.pid}/cmdline`).includes('hello-from-talk'));
    const title = read(`/proc/${d.pid}/cmdline`).replace(/\0+$/, '');
    assert.ok(title.startsWith(`${program} ${dir} log: `), title);
    const window = title.slice(`${program} ${dir} `.length);
    assert.equal(window.length, log.length, 'the log keeps its length');
    assert.ok(window.endsWith('hello-from-talk\n'), 'newest message last');
    assert.equal(d.stderr(), '', 'nothing on the real stderr');
    await cleanup(d);

    const d2 = runsvdir(program, [dir, 'short'], dir);
    await until('warned, and talk runs', () => d2.stderr().includes('log service disabled.') && isRunning(path.join(dir, 'talk')));
    assert.equal(d2.stderr().split('\n').slice(0, 2).join('\n'),
      `runsvdir ${dir}: warning: log must have at least seven characters.\nrunsvdir ${dir}: warning: log service disabled.`);
    await cleanup(d2);
  });

  it('warns every second while the directory cannot be read, and starts once it can', async () => {
    const base = tmpdir('runsvdir-');
    const dir = path.join(base, 'later');
    const d = runsvdir(program, [dir], dir);
    await until('two warnings', () => d.stderr().split('unable to stat').length > 2);
    assert.match(d.stderr(), new RegExp(`^runsvdir ${dir}: warning: unable to stat ${dir}: file does not exist$`, 'm'));
    script(path.join(dir, 'a/run'), 'exec sleep 1000');
    await until('a runs', () => isRunning(path.join(dir, 'a')));
    await cleanup(d);
  });
});
