// runsvdir against runit's (runsvdir 2.1.2 with its runsv), same steps, same
// observations: what gets supervised, the warnings, sv's view, TERM, HUP,
// removal, and the readproctitle log.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { bin, normalize, read, ref, run, script, until } from './helpers.js';
import { cleanup, cleanupAll, isRunning, runsvdir, state, supervised, sv, tree } from './runsvdir-fixtures.js';

after(cleanupAll);

const theirs = ref('runsvdir');
const skip = theirs && ref('runsv') ? false : 'reference runit not installed (apt-get install runit)';
// Both run as plain `runsvdir` found in PATH: runit prints its argv[0].
const envs = {
  ours: { ...process.env, PATH: `${path.dirname(bin('runsvdir'))}:${process.env['PATH']}` },
  theirs: { ...process.env, PATH: `${path.dirname(theirs ?? '/usr/bin/runsvdir')}:${process.env['PATH']}` },
};
type Who = keyof typeof envs;

const svStatus = (dir: string, names: string[]): string =>
  normalize(run(sv, ['status', ...names.map((n) => path.join(dir, n))]).out).split(dir).join('DIR');

async function tour(who: Who): Promise<Record<string, unknown>> {
  const dir = tree(['a', '.hidden', 'c']);
  const outside = path.join(path.dirname(dir), 'outside');
  script(path.join(outside, 'run'), 'exec sleep 1000');
  fs.symlinkSync(outside, path.join(dir, 'b'));
  fs.symlinkSync('a', path.join(dir, 'a2'));
  fs.writeFileSync(path.join(dir, 'file'), '');
  fs.symlinkSync('/nonexistent', path.join(dir, 'broken'));
  const d = runsvdir('runsvdir', [dir], dir, envs[who]);
  const svcs = ['a', 'b', 'c'].map((n) => path.join(dir, n));
  await until('a, b, c run', () => svcs.every(isRunning));
  await until('warned', () => d.stderr().includes('broken'));
  const seen = {
    supervised: fs.readdirSync(dir).filter((n) => fs.existsSync(path.join(dir, n, 'supervise'))).sort(),
    warnings: [...new Set(d.stderr().split(dir).join('DIR').split('\n').filter(Boolean))],
    status: svStatus(dir, ['a', 'b', 'c']),
  };
  // A removed service is stopped and no longer supervised.
  const cPid = state(svcs[2]!)!.pid;
  fs.renameSync(svcs[2]!, path.join(path.dirname(dir), 'c-gone'));
  const gone = path.join(path.dirname(dir), 'c-gone');
  await until('c no longer supervised', () => !supervised(gone));
  const removed = { stopped: !fs.existsSync(`/proc/${cPid}/cmdline`) || !read(`/proc/${cPid}/cmdline`).startsWith('sleep'), status: normalize(run(sv, ['status', gone]).out).split(gone).join('C') };
  // TERM: exit 0, the services stay supervised.
  process.kill(d.pid, 'SIGTERM');
  const code = await d.exited;
  const afterTerm = svStatus(dir, ['a', 'b']);
  run(sv, ['down', svcs[0]!]);
  await until('a down', () => state(svcs[0]!)!.state === 0);
  const afterDown = svStatus(dir, ['a']);
  await cleanup(d);
  return { ...seen, removed, code, afterTerm: afterTerm.replace(/ \d+s/g, ''), afterDown: afterDown.replace(/ \d+s/g, '') };
}

async function hup(who: Who): Promise<Record<string, unknown>> {
  const dir = tree(['a', 'b']);
  const d = runsvdir('runsvdir', ['-P', dir], dir, envs[who]);
  const svcs = ['a', 'b'].map((n) => path.join(dir, n));
  await until('both run', () => svcs.every(isRunning));
  process.kill(d.pid, 'SIGHUP');
  const code = await d.exited;
  await until('supervision ended', () => svcs.every((s) => !supervised(s)));
  const out = { code, status: svStatus(dir, ['a', 'b']) };
  await cleanup(d);
  return out;
}

async function title(who: Who): Promise<string> {
  const dir = tree([]);
  // runsvdir writes its first dot once it has started the services: the
  // service speaks only after it (the F is gone from the title then), else
  // which comes first is a race, in runit's as in ours.
  const pidFile = `${dir}.pid`;
  script(path.join(dir, 'talk/run'), `while [ ! -s ${pidFile} ]; do sleep 0.05; done
while grep -q ABCDEFG /proc/$(cat ${pidFile})/cmdline; do sleep 0.05; done
echo hello-from-talk >&2; exec sleep 1000`);
  const d = runsvdir('runsvdir', [dir, 'ABCDEFG' + '.'.repeat(40)], dir, envs[who]);
  fs.writeFileSync(pidFile, String(d.pid));
  await until('message in the title', () => read(`/proc/${d.pid}/cmdline`).includes('hello-from-talk'));
  const t = read(`/proc/${d.pid}/cmdline`).replace(/\0+$/, '').replace(/\0/g, ' ').split(dir).join('DIR');
  await cleanup(d);
  return t;
}

describe('runsvdir, ours and runit\'s', { skip }, () => {
  it('usage', () => {
    for (const args of [[], ['-P']]) {
      const a = run('runsvdir', args, { env: envs.ours });
      const b = run('runsvdir', args, { env: envs.theirs });
      assert.deepEqual([a.code, a.err], [b.code, b.err]);
    }
  });

  it('supervise the same entries, warn alike, and behave alike on removal and TERM', async () => {
    const want = await tour('theirs');
    const got = await tour('ours');
    assert.deepEqual(got, want);
  });

  it('HUP alike', async () => {
    const want = await hup('theirs');
    const got = await hup('ours');
    assert.deepEqual(got, want);
  });

  it('show the same readproctitle log', async () => {
    const want = await title('theirs');
    const got = await title('ours');
    assert.equal(got, want);
  });
});
