// The same boots under the reference /sbin/runit and ours (on a machine's
// terms: RUNIT_CONTAINER=0), each as process 1 of its own PID namespace:
// the same console, line for line (but the version in the boot line), and the
// same end (130 for a halt, 129 for a reboot). Crashed stages are left out:
// runit 2.1.2 takes a stage killed by a signal for one that exited 0, where
// its man page and runit 2.3.0 (and ours) see a crash (init.test.ts).
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { bin, run, until } from './helpers.js';
import { boot, type Boot, consoleSays, ended, noNamespace, noRefRunit, normalizeBoot, REF_RUNIT, shutdownAll, type BootOptions, type Stages } from './init-fixtures.js';

const STOP = 'touch /etc/runit/stopit; chmod 100 /etc/runit/stopit; kill -CONT 1';

after(shutdownAll);

interface Scenario {
  name: string;
  stages: Stages | ((d: string) => Stages);
  opts?: BootOptions;
  /** The console's last line. */
  last: string;
  /** What the test does while it runs. */
  react?: (b: Boot) => Promise<void>;
}

const go = (d: string, n: number): string => `while [ ! -e ${d}/go${n} ]; do sleep 0.05; done`;
/** Once the console says `text` for the `n`th time, create go`n`. */
async function when(b: Boot, text: string, n: number): Promise<void> {
  await until(`${text} x${n}`, () => b.console().split(text).length - 1 >= n);
  fs.writeFileSync(path.join(b.dir, `go${n}`), '');
}

const scenarios: Scenario[] = [
  { name: 'stages 1, 2, 3; CONT with stopit', stages: { '1': 'echo one', '2': `echo two; ${STOP}; exec sleep 100`, '3': 'echo three' }, last: 'power off...' },
  { name: 'stage 1 exits 100', stages: { '1': 'echo one; exit 100', '2': `echo two; ${STOP}; exec sleep 100`, '3': 'echo three' }, last: 'power off...' },
  { name: 'stage 1 exits 1, stage 3 exits 3', stages: { '1': 'exit 1', '2': 'echo two', '3': 'echo three; exit 3' }, last: 'power off...' },
  { name: 'no stage 1, no stage 3', stages: { '2': 'echo two' }, last: 'power off...' },
  { name: 'reboot executable', stages: { '2': STOP + '; exec sleep 100' }, opts: { files: { reboot: ['', 0o100] } }, last: 'system reboot.' },
  {
    name: 'ctrl-alt-del', stages: { '2': 'kill -INT 1; exec sleep 100' },
    opts: { files: { ctrlaltdel: ['#!/bin/sh\necho cad; touch /etc/runit/stopit; chmod 100 /etc/runit/stopit\n', 0o700] } },
    last: 'power off...',
  },
  {
    name: 'signals in stages 1 and 3',
    // each stage waits until runit has answered (the test reads the console)
    stages: (d) => ({ '1': `kill -CONT 1; ${go(d, 1)}`, '2': 'exit 0', '3': `kill -CONT 1; ${go(d, 2)}; kill -INT 1; ${go(d, 3)}` }),
    opts: { files: { stopit: ['', 0o100], ctrlaltdel: ['#!/bin/sh\necho cad\n', 0o100] } },
    react: async (b) => {
      await when(b, 'signals only work in stage 2.', 1);
      await when(b, 'signals only work in stage 2.', 2);
      await when(b, 'signals only work in stage 2.', 3);
    },
    last: 'power off...',
  },
  { name: 'stage 2 exits 111, then 0', stages: (d) => ({ '2': `if [ -e ${d}/again ]; then exit 0; fi; touch ${d}/again; exit 111` }), last: 'power off...' },
  { name: 'stage 2 ignores TERM', stages: { '2': `trap "echo got TERM" TERM; ${STOP}; while :; do sleep 0.1; done` }, last: 'power off...' },
];

describe('runit against the reference /sbin/runit', { skip: noNamespace || noRefRunit, concurrency: 3 }, () => {
  test('outside process 1: the same message and 111', () => {
    const ours = run(bin('runit'), []);
    const theirs = run(REF_RUNIT, []);
    assert.deepEqual([ours.code, ours.err], [theirs.code, theirs.err]);
  });

  for (const s of scenarios) {
    test(s.name, async () => {
      const theirs = boot(REF_RUNIT, s.stages, s.opts);
      const ours = boot(bin('runit'), s.stages, { ...s.opts, env: { RUNIT_CONTAINER: '0' } });
      if (s.react) await Promise.all([s.react(theirs), s.react(ours)]);
      const [a, b] = await Promise.all([ended(theirs), ended(ours)]);
      const [ca, cb] = await Promise.all([consoleSays(theirs, s.last + '\n'), consoleSays(ours, s.last + '\n')]);
      assert.equal(normalizeBoot(cb), normalizeBoot(ca));
      assert.equal(b, a);
    });
  }
});

const REF_INIT = '/lib/runit/runit-init'; // Debian's runit-init (its package's /sbin/init links here)
const noRefInit = fs.existsSync(REF_INIT) ? false : `reference runit-init not installed (${REF_INIT})`;

describe('runit-init against the reference', { skip: noNamespace || noRefInit, concurrency: 2 }, () => {
  test('usage: the same words (but the program name) and exit 0', () => {
    for (const args of [[], ['5'], ['-h']]) {
      const ours = run(bin('runit-init'), args);
      const theirs = run(REF_INIT, args);
      assert.deepEqual([ours.code, ours.err.replace(bin('runit-init'), 'P')], [theirs.code, theirs.err.replace(REF_INIT, 'P')]);
    }
  });

  // process 1 is a shell that records the CONT it gets; the files end as they end
  for (const [arg, reboot] of [['0', null], ['0', 0o700], ['6', null], ['6', 0o644]] as [string, number | null][]) {
    test(`init ${arg}, reboot ${reboot === null ? 'absent' : reboot.toString(8)}: the same files, CONT, exit code`, async () => {
      const outcome = async (program: string): Promise<string> => {
        const b = boot('/bin/sh', {}, {
          files: reboot === null ? {} : { reboot: ['', reboot] },
          args: ['-c', `trap 'echo cont >> $D/got' CONT; ${program} ${arg}; echo $? > $D/rc; while [ ! -s $D/got ]; do sleep 0.05; done`],
        });
        assert.equal(await ended(b), 0);
        const mode = (f: string) => { try { return (fs.statSync(path.join(b.etc, f)).mode & 0o7777).toString(8); } catch { return 'absent'; } };
        return `rc ${fs.readFileSync(path.join(b.dir, 'rc'), 'utf8').trim()}, got ${fs.readFileSync(path.join(b.dir, 'got'), 'utf8').trim()}, stopit ${mode('stopit')}, reboot ${mode('reboot')}`;
      };
      const [ours, theirs] = await Promise.all([outcome(bin('runit-init')), outcome(REF_INIT)]);
      assert.equal(ours, theirs);
    });
  }
});
