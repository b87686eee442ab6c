// runit as a container's init (not in the machine's first PID namespace, or
// RUNIT_CONTAINER=1): TERM starts the shutdown as CONT with an executable
// stopit does, and after stage 3 runit exits with a status (0 clean, 1 stage
// 1 failed, 2 stage 3 failed, 3 both) instead of calling reboot(2). Then the
// example in example/container/ with 50 logged services, stopped by TERM.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { bin, read, root, script, tmpdir, until } from './helpers.js';
import { boot, consoleSays, ended, noNamespace, shutdownAll, started, type Stages } from './init-fixtures.js';

const RUNIT = bin('runit');
const EXAMPLE = path.join(root, 'example/container/etc/runit');
const exampleStages = (): Stages => Object.fromEntries(['1', '2', '3'].map((n) =>
  [n, fs.readFileSync(path.join(EXAMPLE, n), 'utf8').replace(/^#!\/bin\/sh\n/, '')])) as Stages;

after(shutdownAll);

describe('runit in a container', { skip: noNamespace, concurrency: 3 }, () => {
  for (const env of [{}, { RUNIT_CONTAINER: '1' }]) {
    test(`TERM: stage 2 is stopped, stage 3 runs, runit exits 0${env.RUNIT_CONTAINER ? ' (RUNIT_CONTAINER=1)' : ''}`, async () => {
      const b = boot(RUNIT, (d) => ({ '1': 'exit 0', '2': `trap "touch ${d}/term; exit 0" TERM; touch ${d}/two; while :; do sleep 0.1; done`, '3': 'echo three' }), { env });
      const pid1 = await started(b);
      await until('stage 2 running', () => fs.existsSync(path.join(b.dir, 'two')));
      process.kill(pid1, 'SIGTERM');
      assert.equal(await ended(b), 0);
      assert.ok(fs.existsSync(path.join(b.dir, 'term')), 'stage 2 got TERM');
      assert.ok((await consoleSays(b, 'exit 0.\n')).endsWith([
        '- runit: leave stage: /etc/runit/2', '- runit: enter stage: /etc/runit/3', 'three', '- runit: leave stage: /etc/runit/3',
        '- runit: sending KILL signal to all processes...', '- runit: exit 0.', ''].join('\n')));
    });
  }

  for (const [name, stages, code] of [
    ['stage 1 exits 100', { '1': 'exit 100', '2': 'exit 0', '3': 'exit 0' }, 1],
    ['stage 1 cannot start', { '2': 'exit 0', '3': 'exit 0' }, 1],
    ['stage 1 crashes', { '1': 'kill -9 $$', '2': 'exit 0', '3': 'exit 0' }, 1],
    ['stage 3 exits 1', { '1': 'exit 0', '2': 'exit 0', '3': 'exit 1' }, 2],
    ['stage 1 and stage 3 fail', { '1': 'exit 1', '2': 'exit 0', '3': 'kill -9 $$' }, 3],
    ['every stage clean, stage 2 returns', { '1': 'exit 0', '2': 'exit 0', '3': 'exit 0' }, 0],
  ] as [string, Stages, number][]) {
    test(`${name}: exit ${code}`, async () => {
      const b = boot(RUNIT, stages);
      assert.equal(await ended(b), code);
      await consoleSays(b, `- runit: exit ${code}.\n`);
    });
  }

  test('the example\'s stages with a failed stage 1: stage 2 skipped, exit 1', async () => {
    const svdir = tmpdir('runit-init-svc-');
    const b = boot(RUNIT, { ...exampleStages(), '1': 'exit 100' }, { env: { SVDIR: svdir } });
    assert.equal(await ended(b), 1);
    const c = await consoleSays(b, '- runit: exit 1.\n');
    assert.ok(c.includes('- runit: warning: skipping stage 2...\n'), c);
    assert.ok(!c.includes('enter stage: /etc/runit/2'), c);
  });

  test('the example\'s stages, 50 logged services, TERM: each ./run gets TERM, no log line lost, exit 0', async () => {
    const N = 50;
    const svdir = tmpdir('runit-init-svc-');
    const got = tmpdir('runit-init-got-');
    const names = Array.from({ length: N }, (_, i) => `s${i}`);
    for (const name of names) {
      // every line numbered; the last one says TERM came: a lost line is a gap or a missing last line
      script(path.join(svdir, name, 'run'), `exec 2>&1
n=0
trap 'echo "got TERM"; touch ${got}/${name}; exit 0' TERM
while :; do n=$((n + 1)); echo "line $n"; sleep 0.5 & wait $!; done`);
      script(path.join(svdir, name, 'log/run'), 'exec svlogd main');
      fs.mkdirSync(path.join(svdir, name, 'log/main'));
    }
    const b = boot(RUNIT, exampleStages(), { env: { SVDIR: svdir } });
    const pid1 = await started(b);
    const current = (name: string) => read(path.join(svdir, name, 'log/main/current'));
    await until('every service running and logging', () => names.every((n) => current(n).includes('line 1\n')), 120000);
    process.kill(pid1, 'SIGTERM');
    assert.equal(await ended(b), 0);
    await consoleSays(b, '- runit: exit 0.\n');
    for (const name of names) {
      assert.ok(fs.existsSync(path.join(got, name)), `${name}: its ./run got TERM`);
      const l = current(name).split('\n');
      assert.equal(l.pop(), '');
      assert.equal(l.pop(), 'got TERM', name);
      assert.ok(l.length >= 1);
      assert.deepEqual(l, l.map((_, i) => `line ${i + 1}`), `${name}: every line, in order`);
    }
  });
});
