// How our programs look from outside, against runit's: the process name and
// title that `ps`, `pidof` and `pgrep` go by, and the name a program gives
// itself in its usage and messages (its argv[0], as called: by a path, by a
// symlink, or by a bare name found in $PATH).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { bin, noRef, ref, run, script, startSupervisor, stopAll, tmpdir, until } from './helpers.js';
import { cleanup, isRunning, runsvdir, state } from './runsvdir-fixtures.js';

after(stopAll);

const who = {
  ours: path.dirname(bin('runsv')),
  theirs: path.dirname(ref('runsv') ?? '/usr/bin/runsv'),
};
type Who = keyof typeof who;
/** PATH with that side's programs first, so both are called by their bare names. */
const envOf = (w: Who): NodeJS.ProcessEnv => ({ ...process.env, PATH: `${who[w]}:${process.env['PATH']}` });

const sh = (cmd: string): string => spawnSync('sh', ['-c', cmd], { encoding: 'utf8' }).stdout.trim();
const words = (s: string): number[] => s.split(/\s+/).filter(Boolean).map(Number);

/** What ps, pidof and pgrep say of `pid`, as program `name`. */
function seen(pid: number, name: string, dir: string): Record<string, unknown> {
  return {
    comm: sh(`ps -o comm= -p ${pid}`),
    args: sh(`ps -o args= -p ${pid}`).split(dir).join('DIR'),
    pidof: words(sh(`pidof ${name}`)).includes(pid),
    pgrep: words(sh(`pgrep -x ${name}`)).includes(pid),
  };
}


describe('ps, pidof and pgrep see ours as runit\'s', { skip: noRef }, () => {
  async function standalone(w: Who): Promise<Record<string, unknown>> {
    const dir = path.join(tmpdir('names-'), 'svc');
    script(path.join(dir, 'run'), 'exec sleep 1000');
    script(path.join(dir, 'log/run'), 'exec svlogd -tt ./main');
    fs.mkdirSync(path.join(dir, 'log/main'));
    const s = startSupervisorWith(w, 'runsv', [dir]);
    await until('service and log run', () => isRunning(dir) && isRunning(path.join(dir, 'log')));
    const logPid = state(path.join(dir, 'log'))!.pid;
    // the log's svlogd names itself once Node has started it
    await until('svlogd started', () => fs.existsSync(path.join(dir, 'log/main/lock')));
    const out = { runsv: seen(s.pid, 'runsv', dir), svlogd: seen(logPid, 'svlogd', dir) };
    process.kill(s.pid, 'SIGTERM');
    await s.exited;
    return out;
  }

  it('runsv DIR and its log\'s svlogd', async () => {
    const want = await standalone('theirs');
    const got = await standalone('ours');
    assert.deepEqual(got, want);
  });

  it('runsvdir, and a runsv under it', async () => {
    const observe = async (w: Who): Promise<Record<string, unknown>> => {
      const base = tmpdir('names-');
      const dir = path.join(base, 'service');
      script(path.join(dir, 'a/run'), 'exec sleep 1000');
      const d = runsvdir('runsvdir', ['-P', dir], dir, envOf(w));
      await until('a runs', () => isRunning(path.join(dir, 'a')));
      // the supervisor of a: runit's runsv, or our host
      const supervisor = Number(sh(`ps -o ppid= -p ${state(path.join(dir, 'a'))!.pid}`));
      const out = {
        runsvdir: seen(d.pid, 'runsvdir', dir),
        supervisor: { ...seen(supervisor, 'runsv', dir), args: undefined },
        supervisorParent: Number(sh(`ps -o ppid= -p ${supervisor}`)) === d.pid,
      };
      await cleanup(d);
      return out;
    };
    const want = await observe('theirs');
    const got = await observe('ours');
    assert.deepEqual(got, want);
  });
});

function startSupervisorWith(w: Who, name: string, args: string[]) {
  const saved = process.env['PATH'];
  process.env['PATH'] = envOf(w)['PATH'];
  try {
    return startSupervisor(name, args);
  } finally {
    process.env['PATH'] = saved;
  }
}

describe('programs name themselves as called, as runit\'s do', { skip: noRef }, () => {
  // each: arguments that make it print its usage or a message with its name, and exit
  const cases: [string, string[][]][] = [
    ['runsv', [[], ['a', 'b']]],
    ['runsvdir', [[]]],
    ['svlogd', [[], ['-Z', 'x'], ['-r']]],
    ['runsvchdir', [[], ['.x']]],
    ['utmpset', [[], ['-Z']]],
    ['sv', [[], ['-Z', 'status', 'x']]],
    ['chpst', [[], ['-Z']]],
    ['runit-init', [[], ['5']]],
  ];
  // Debian keeps runit-init out of PATH (its /sbin/init links there)
  const refOf = (prog: string): string | null => (prog === 'runit-init'
    ? (fs.existsSync('/lib/runit/runit-init') ? '/lib/runit/runit-init' : null) : ref(prog));
  const calls = (home: string, prog: string, link: string): { label: string; cmd: string; env: NodeJS.ProcessEnv }[] => [
    { label: 'by PATH', cmd: prog, env: { ...process.env, PATH: `${home}:${process.env['PATH']}` } },
    { label: 'by path', cmd: path.join(home, prog), env: process.env },
    { label: 'by a symlink', cmd: link, env: process.env },
  ];

  for (const [prog, argsList] of cases) {
    it(prog, () => {
      const links = { ours: path.join(tmpdir('names-'), `my${prog}`), theirs: path.join(tmpdir('names-'), `my${prog}`) };
      const theirs = refOf(prog);
      assert.ok(theirs, `runit's ${prog}`);
      fs.symlinkSync(bin(prog), links.ours);
      fs.symlinkSync(theirs, links.theirs);
      for (const args of argsList) {
        const homes = { ours: who.ours, theirs: path.dirname(theirs) };
        const o = calls(homes.ours, prog, links.ours);
        const t = calls(homes.theirs, prog, links.theirs);
        for (let i = 0; i < o.length; i++) {
          const a = run(t[i]!.cmd, args, { env: t[i]!.env });
          const b = run(o[i]!.cmd, args, { env: o[i]!.env });
          // the name is what is compared: usage lines up to it (chpst's options differ: -C)
          const norm = (r: typeof a, w: Who): string =>
            `${r.code} ${r.err.split(homes[w]).join('BIN').split(path.dirname(links[w])).join('LINKS').replace(/^(usage: \S+).*$/gm, '$1')}`;
          assert.equal(norm(b, 'ours'), norm(a, 'theirs'), `${prog} ${args.join(' ')} called ${o[i]!.label}`);
        }
      }
    });
  }
});
