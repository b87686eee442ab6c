// runit as process 1 of a PID namespace (man runit), on a machine's terms
// (RUNIT_CONTAINER=0: reboot(2) at the end, which the kernel turns into
// process 1's death by SIGINT (halt, power-off: unshare exits 130) or SIGHUP
// (reboot: 129)). And runit-init (man runit-init).
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { bin, read, run, tmpdir, until } from './helpers.js';
import { boot, consoleSays, ended, haveStrace, inNamespace, noNamespace, shutdownAll, started } from './init-fixtures.js';

const RUNIT = bin('runit');
const MACHINE = { env: { RUNIT_CONTAINER: '0' } };
const STOP = 'touch /etc/runit/stopit; chmod 100 /etc/runit/stopit; kill -CONT 1';
const BOOTING = '- runit: $Id: runit-ts 0.1.0 $: booting.\n';
const lines = (...l: string[]): string => l.map((x) => x + '\n').join('');
const wait = (file: string): string => `while [ ! -e ${file} ]; do sleep 0.05; done`;
/** The access mode of fd 0 (from fdinfo flags): 1 write-only, 2 read-write. */
const FD0 = "sed -n 's/^flags:[[:space:]]*//p' /proc/$$/fdinfo/0";
const SID = "cut -d' ' -f6 /proc/$$/stat";

after(shutdownAll);

describe('runit outside process 1', () => {
  test('refuses to run, with runit\'s message and 111', () => {
    const r = run(RUNIT, []);
    assert.equal(r.code, 111);
    assert.equal(r.err, '- runit: fatal: must be run as process no 1.\n');
  });
});

describe('runit-init outside process 1', () => {
  test('usage without 0 or 6, exit 0 (as runit-init)', () => {
    for (const args of [[], ['5'], ['x'], ['']]) {
      const r = run(bin('runit-init'), args);
      assert.equal(r.code, 0, `args ${JSON.stringify(args)}`);
      assert.equal(r.err, `usage: ${bin('runit-init')} 0|6\n\n`);
    }
  });

  test('111 and init: fatal: when stopit cannot be created', { skip: noNamespace }, () => {
    const etc = tmpdir('runit-init-ro-');
    // a mount namespace only: init 0 fails before any signal is sent
    const r = run('unshare', ['--mount', 'sh', '-c',
      `mount --bind ${etc} /etc/runit && mount -o remount,bind,ro /etc/runit && exec ${bin('runit-init')} 0`]);
    assert.equal(r.code, 111);
    assert.equal(r.err, 'init: fatal: unable to create /etc/runit/stopit: read-only file system\n');
  });
});

describe('runit as process 1', { skip: noNamespace }, () => {
  test('stages 1, 2, 3 in order; CONT with stopit ends stage 2; stopit made 0; then a power-off', async () => {
    const b = boot(RUNIT, (d) => ({
      '1': `echo one; echo "$(${FD0}) $(${SID})" > ${d}/s1`,
      '2': `echo two; echo "$(${FD0}) $(${SID}) $$" > ${d}/s2; ${STOP}; exec sleep 100`,
      '3': `echo three; stat -c %a /etc/runit/stopit > ${d}/stopit-mode; echo "$(${FD0}) $(${SID}) $$" > ${d}/s3`,
    }), MACHINE);
    assert.equal(await ended(b), 130);
    assert.equal(await consoleSays(b, 'power off...\n'), BOOTING + lines(
      '- runit: enter stage: /etc/runit/1', 'one', '- runit: leave stage: /etc/runit/1',
      '- runit: enter stage: /etc/runit/2', 'two', '- runit: leave stage: /etc/runit/2',
      '- runit: enter stage: /etc/runit/3', 'three', '- runit: leave stage: /etc/runit/3',
      '- runit: sending KILL signal to all processes...', '- runit: power off...'));
    assert.equal(read(path.join(b.dir, 'stopit-mode')), '0\n');
    // stage 1: the console read-write on fd 0, in runit's session; 2 and 3: write-only, each its own session
    const [f1, sid1] = read(path.join(b.dir, 's1')).trim().split(' ');
    assert.equal(parseInt(f1!, 8) & 3, 2);
    assert.equal(sid1, '1');
    for (const s of ['s2', 's3']) {
      const [f, sid, pid] = read(path.join(b.dir, s)).trim().split(' ');
      assert.equal(parseInt(f!, 8) & 3, 1, s);
      assert.equal(sid, pid, `${s} leads its own session`);
    }
  });

  for (const [how, says] of [['exit 100', 'child failed'], ['kill -9 $$', 'child crashed']]) {
    test(`stage 1 that does ${how}: stage 2 is skipped`, async () => {
      const b = boot(RUNIT, (d) => ({ '1': how, '2': `touch ${d}/two; ${STOP}; exec sleep 100`, '3': 'echo three' }), MACHINE);
      assert.equal(await ended(b), 130);
      const c = await consoleSays(b, 'power off...\n');
      assert.ok(c.includes(lines(`- runit: warning: ${says}: /etc/runit/1`, '- runit: leave stage: /etc/runit/1',
        '- runit: warning: skipping stage 2...', '- runit: enter stage: /etc/runit/3', 'three')), c);
      assert.ok(!fs.existsSync(path.join(b.dir, 'two')));
    });
  }

  test('stage 1 failing otherwise: warned, then stage 2; stages that cannot start; stage 2 returning', async () => {
    const b = boot(RUNIT, { '1': 'exit 1', '2': 'echo two' }, MACHINE); // no /etc/runit/3
    assert.equal(await ended(b), 130);
    assert.equal(await consoleSays(b, 'power off...\n'), BOOTING + lines(
      '- runit: enter stage: /etc/runit/1', '- runit: warning: child failed: /etc/runit/1', '- runit: leave stage: /etc/runit/1',
      '- runit: enter stage: /etc/runit/2', 'two', '- runit: leave stage: /etc/runit/2',
      '- runit: enter stage: /etc/runit/3', '- runit: fatal: unable to start child: /etc/runit/3: file does not exist',
      '- runit: leave stage: /etc/runit/3',
      '- runit: sending KILL signal to all processes...', '- runit: power off...'));
  });

  test('stage 2 exiting 111 or crashing: its processes killed, started again (after runit\'s pause)', async () => {
    const b = boot(RUNIT, (d) => ({
      '2': `n=$(($(cat ${d}/n 2>/dev/null || echo 0) + 1)); echo $n > ${d}/n; echo "two $n"
case $n in
1) sleep 1000 & echo $! > ${d}/orphan; exit 111 ;;
2) kill -0 $(cat ${d}/orphan) 2>/dev/null && touch ${d}/orphan-alive; kill -9 $$ ;;
*) ${STOP}; exec sleep 100 ;;
esac`,
    }), MACHINE);
    assert.equal(await ended(b), 130);
    const c = await consoleSays(b, 'power off...\n');
    assert.ok(c.includes(lines('two 1', '- runit: warning: child failed: /etc/runit/2', '- runit: warning: killing all processes in stage 2...',
      '- runit: warning: restarting.', '- runit: enter stage: /etc/runit/2', 'two 2',
      '- runit: warning: child crashed: /etc/runit/2', '- runit: warning: killing all processes in stage 2...',
      '- runit: warning: restarting.', '- runit: enter stage: /etc/runit/2', 'two 3', '- runit: leave stage: /etc/runit/2')), c);
    assert.ok(!fs.existsSync(path.join(b.dir, 'orphan-alive')), 'the first stage 2\'s sleep was killed with it');
  });

  test('a shutdown during the pause before a restart: stage 3, without stage 2 again', async () => {
    const b = boot(RUNIT, (d) => ({ '2': `echo two >> ${d}/runs; touch /etc/runit/stopit; chmod 100 /etc/runit/stopit; exit 111` }), MACHINE);
    const pid1 = await started(b);
    await consoleSays(b, '- runit: warning: killing all processes in stage 2...\n');
    process.kill(pid1, 'SIGCONT');
    assert.equal(await ended(b), 130);
    const c = await consoleSays(b, 'power off...\n');
    assert.ok(c.includes(lines('- runit: warning: killing all processes in stage 2...', '- runit: leave stage: /etc/runit/2',
      '- runit: enter stage: /etc/runit/3')), c);
    assert.ok(!c.includes('restarting.'), c);
    assert.equal(read(path.join(b.dir, 'runs')), 'two\n');
  });

  test('stage 2 that ignores TERM gets KILL after the grace', async () => {
    const b = boot(RUNIT, (d) => ({ '2': `trap "touch ${d}/term" TERM; ${STOP}; while :; do sleep 0.1; done` }), MACHINE);
    assert.equal(await ended(b), 130);
    const c = await consoleSays(b, 'power off...\n');
    assert.ok(c.includes(lines('- runit: enter stage: /etc/runit/2', '- runit: warning: stage 2 not terminated, sending sigkill...',
      '- runit: leave stage: /etc/runit/2')), c);
    assert.ok(fs.existsSync(path.join(b.dir, 'term')));
  });

  test('/etc/runit/reboot executable by its owner: a reboot (SIGHUP); not executable: a power-off', async () => {
    const yes = boot(RUNIT, { '2': `${STOP}; exec sleep 100` }, { ...MACHINE, files: { reboot: ['', 0o100] } });
    const no = boot(RUNIT, { '2': `${STOP}; exec sleep 100` }, { ...MACHINE, files: { reboot: ['', 0o077] } });
    assert.equal(await ended(yes), 129);
    assert.ok((await consoleSays(yes, 'system reboot.\n')).endsWith(lines('- runit: sending KILL signal to all processes...', '- runit: system reboot.')));
    assert.equal(await ended(no), 130);
    assert.ok((await consoleSays(no, 'power off...\n')).endsWith(lines('- runit: sending KILL signal to all processes...', '- runit: power off...')));
  });

  test('INT (ctrl-alt-del) runs an owner-executable ctrlaltdel, waits for it, then acts as CONT', async () => {
    const b = boot(RUNIT, (d) => ({ '2': `kill -INT 1; exec sleep 100` }), {
      ...MACHINE, files: { ctrlaltdel: ['#!/bin/sh\necho cad; sleep 0.3; touch /etc/runit/stopit; chmod 100 /etc/runit/stopit\n', 0o700] },
    });
    assert.equal(await ended(b), 130);
    const c = await consoleSays(b, 'power off...\n');
    assert.ok(c.includes(lines('- runit: enter stage: /etc/runit/2', '- runit: ctrl-alt-del request...',
      '- runit: enter stage: /etc/runit/ctrlaltdel', 'cad', '- runit: leave stage: /etc/runit/ctrlaltdel',
      '- runit: leave stage: /etc/runit/2')), c);
  });

  test('PWR in stage 2: shutdown, whatever stopit says', async () => {
    const b = boot(RUNIT, { '2': 'kill -PWR 1; exec sleep 100', '3': 'echo three' }, MACHINE);
    assert.equal(await ended(b), 130);
    const c = await consoleSays(b, 'power off...\n');
    assert.ok(c.includes(lines('- runit: enter stage: /etc/runit/2', '- runit: leave stage: /etc/runit/2',
      '- runit: enter stage: /etc/runit/3', 'three')), c);
  });

  test('INT without an executable ctrlaltdel, CONT without an executable stopit: nothing', async () => {
    const b = boot(RUNIT, (d) => ({
      '2': `kill -INT 1; kill -CONT 1; touch ${d}/sent; ${wait(`${d}/go`)}; ${STOP}; exec sleep 100`,
    }), { ...MACHINE, files: { ctrlaltdel: ['#!/bin/sh\necho cad\n', 0o644], stopit: ['', 0o644] } });
    await until('signals sent', () => fs.existsSync(path.join(b.dir, 'sent')));
    // INT and CONT were sent before this CONT: were they taken, stage 2 would be gone
    fs.writeFileSync(path.join(b.dir, 'go'), '');
    assert.equal(await ended(b), 130);
    const c = await consoleSays(b, 'power off...\n');
    assert.ok(!c.includes('ctrl-alt-del'), c);
    assert.ok(fs.existsSync(path.join(b.dir, 'go')));
  });

  test('signals outside stage 2: runit\'s warning, and nothing else', async () => {
    const b = boot(RUNIT, (d) => ({
      '1': `${STOP}; ${wait(`${d}/go1`)}; kill -INT 1; ${wait(`${d}/go2`)}`,
      '2': `touch ${d}/two; exit 0`,
      '3': `kill -CONT 1; ${wait(`${d}/go3`)}`,
    }), { ...MACHINE, files: { ctrlaltdel: [`#!/bin/sh\ntouch /etc/runit/cad\n`, 0o700] } });
    // each signal is sent once runit has answered the one before
    for (const n of [1, 2, 3]) {
      await until(`warning ${n}`, () => b.console().split('signals only work in stage 2.').length - 1 === n);
      if (n < 3) assert.ok(!b.console().includes('enter stage: /etc/runit/2'));
      fs.writeFileSync(path.join(b.dir, `go${n}`), '');
    }
    assert.equal(await ended(b), 130);
    assert.ok(fs.existsSync(path.join(b.dir, 'two')), 'stage 2 ran');
    assert.ok(!fs.existsSync(path.join(b.etc, 'cad')), 'no ctrlaltdel');
    assert.equal(fs.statSync(path.join(b.etc, 'stopit')).mode & 0o777, 0o100, 'stopit left as it was');
  });

  test('orphans are reaped: a stage 2 that orphans 1000 short-lived children leaves no zombie', async () => {
    const b = boot(RUNIT, (d) => ({
      '2': `i=0; while [ $i -lt 1000 ]; do (sleep 0 &); i=$((i + 1)); done; touch ${d}/spawned; exec sleep 1000`,
    }), MACHINE);
    const pid1 = await started(b);
    await until('1000 orphans made', () => fs.existsSync(path.join(b.dir, 'spawned')), 120000);
    const zombies = () => inNamespace(b.ns()).filter((p) => {
      try { return / Z /.test(fs.readFileSync(`/proc/${p}/stat`, 'utf8').replace(/\(.*\)/, '')); } catch { return false; }
    });
    await until('no zombie in the namespace', () => zombies().length === 0);
    // and no orphan left either: stage 2's sleep is all there is besides process 1
    await until('only stage 2 left', () => inNamespace(b.ns()).filter((p) => p !== pid1).length === 1);
    assert.deepEqual(zombies(), []);
    fs.writeFileSync(path.join(b.etc, 'stopit'), '');
    fs.chmodSync(path.join(b.etc, 'stopit'), 0o100);
    process.kill(pid1, 'SIGCONT');
    assert.equal(await ended(b), 130);
  });

  test('runit-init as process 1 becomes runit: the same process', async () => {
    const b = boot(bin('runit-init'), (d) => ({
      '1': `tr '\\0' ' ' < /proc/1/cmdline > ${d}/cmdline`,
      '2': `${STOP}; exec sleep 100`,
    }), MACHINE);
    assert.equal(await ended(b), 130);
    assert.ok((await consoleSays(b, 'power off...\n')).startsWith(BOOTING));
    // process 1 itself now runs bin/runit (an exec: a pid 1 cannot be replaced otherwise)
    assert.match(read(path.join(b.dir, 'cmdline')), /\/bin\/runit $/);
  });

  for (const [arg, code, rebootMode] of [['0', 130, 0], ['6', 129, 0o100]] as const) {
    test(`init ${arg} from inside: ${code === 130 ? 'halt' : 'reboot'}`, async () => {
      const b = boot(RUNIT, (d) => ({
        '2': `setsid sh -c 'runit-init ${arg}; echo $? > ${d}/rc' & exec sleep 100`,
        '3': `${wait(`${d}/rc`)}; stat -c %a /etc/runit/stopit /etc/runit/reboot > ${d}/modes`,
      }), { ...MACHINE, files: { reboot: ['', 0o700] } });
      assert.equal(await ended(b), code);
      assert.equal(read(path.join(b.dir, 'rc')), '0\n');
      // runit made stopit 0 when it took the request
      assert.equal(read(path.join(b.dir, 'modes')), `0\n${rebootMode.toString(8)}\n`);
    });
  }

  test('sync before the reboot(2), unless /etc/runit/nosync exists', { skip: haveStrace ? false : 'strace not installed' }, async () => {
    for (const nosync of [false, true]) {
      const b = boot(RUNIT, (d) => ({ '2': `${wait(`${d}/go`)}; ${STOP}; exec sleep 100` }),
        { ...MACHINE, files: nosync ? { nosync: ['', 0o644] } : {} });
      const pid1 = await started(b);
      await until('stage 2', () => b.console().includes('enter stage: /etc/runit/2'));
      const log = path.join(b.dir, 'strace');
      const st = spawn('strace', ['-p', String(pid1), '-e', 'trace=sync,reboot', '-o', log], { stdio: ['ignore', 'ignore', 'pipe'] });
      let err = '';
      st.stderr!.on('data', (x: Buffer) => { err += x.toString(); });
      const stDone = new Promise((r) => st.on('exit', r));
      await until('strace attached', () => err.includes('attached'));
      fs.writeFileSync(path.join(b.dir, 'go'), '');
      assert.equal(await ended(b), 130);
      await stDone;
      const calls = read(log);
      assert.match(calls, /reboot\(/);
      assert.equal(/\bsync\(\)/.test(calls), !nosync, calls);
    }
  });
});
