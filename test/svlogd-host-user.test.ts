// `exec chpst -u USER svlogd ...` loggers run by the runsvdir host itself
// (src/runsvdir/logger.ts, src/sys/identity.ts): the stand-in and the
// processors are USER's processes, and the log directory's files are
// created, owned and refused as USER's, as under runit's chpst and svlogd.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { alive, noRef, ref, root, run, script, until } from './helpers.js';
import { cleanup, cleanupAll, hosts, isRunning, note, runsvdir, state, sv, tree, type Dir } from './runsvdir-fixtures.js';

after(cleanupAll);

const ours = { ...process.env, PATH: `${path.join(root, 'bin')}:${process.env.PATH ?? '/bin:/usr/bin'}` };
/** runit's chpst and svlogd first on the PATH. */
const runits = { ...process.env, PATH: `/usr/bin:/bin:${process.env.PATH ?? ''}` };
const standin = path.join(root, 'libexec/svlogd');
const node = fs.realpathSync(process.execPath);
const NOBODY = 65534;
const NOGROUP = 65534;

const logPid = (svc: string): number => state(path.join(svc, 'log'))?.pid ?? 0;
const exe = (pid: number): string => { try { return fs.realpathSync(`/proc/${pid}/exe`); } catch { return ''; } };
const inHost = (svc: string): boolean => { const p = logPid(svc); return p > 0 && alive(p) && exe(p) === standin; };
/** Uid, Gid and Groups of a process, as /proc shows them. */
function ids(pid: number): { uid: string; gid: string; groups: string } {
  const st = fs.readFileSync(`/proc/${pid}/status`, 'latin1');
  const f = (k: string): string => (new RegExp(`^${k}:(.*)$`, 'm').exec(st)?.[1] ?? '').trim().replace(/\s+/g, ' ');
  return { uid: f('Uid'), gid: f('Gid'), groups: f('Groups') };
}
const owner = (file: string): string => { const st = fs.statSync(file); return `${st.uid}:${st.gid} ${(st.mode & 0o7777).toString(8)}`; };
const lines = (dir: string): string[] => {
  const out: string[] = [];
  for (const f of fs.readdirSync(dir).sort()) {
    if (f === 'current' || /^@.*\.[su]$/.test(f)) out.push(...fs.readFileSync(path.join(dir, f), 'latin1').split('\n').filter(Boolean));
  }
  return out;
};

/** A tree the user can reach (tmpdir makes 0700 directories). */
function reachable(dir: string): string {
  fs.chmodSync(path.dirname(dir), 0o755);
  return dir;
}

/** `names` logged by `log/run`, each log/main made by `made`. */
function logged(names: string[], run: string, logRun: string, made: (main: string) => void): string {
  const dir = reachable(tree(names, run));
  for (const n of names) {
    const main = path.join(dir, n, 'log/main');
    fs.mkdirSync(main, { recursive: true });
    made(main);
    script(path.join(dir, n, 'log/run'), logRun);
  }
  return dir;
}
const nobodys = (main: string): void => fs.chownSync(main, NOBODY, NOGROUP);

/** Every file of a log directory but config: its kind (a rotated one by its suffix), owner and mode. */
function listing(main: string): string[] {
  return fs.readdirSync(main).filter((f) => f !== 'config')
    .map((f) => `${f.startsWith('@') ? '@' + f.slice(-2) : f} ${owner(path.join(main, f))}`).sort();
}

const notRoot = process.getuid?.() === 0 ? false : 'needs root (to act as another user)';
const noStandin = fs.existsSync(standin) ? false : 'no stand-in for this machine (x86-64 only)';
const skip = notRoot || noStandin;

describe('chpst -u USER svlogd in the runsvdir host', { skip }, () => {
  it('runs it in the host as the user: the stand-in is the user\'s, files and processor too, as with runit\'s chpst and svlogd', { skip: skip || noRef || (ref('chpst') ? false : 'no runit chpst') }, async () => {
    const config = 'pP: \n!echo processed by $(id -un):$(id -gn); tr a-z A-Z\n';
    const logRun = 'exec chpst -u nobody svlogd ./main';
    const results: Record<string, { files: string[]; processed: string[] }> = {};
    for (const [name, program, env] of [['runit', ref('runsvdir')!, runits], ['ours', 'runsvdir', ours]] as const) {
      const dir = logged(['a'], 'echo one; echo two; exec sleep 1000', logRun, (main) => {
        nobodys(main);
        fs.writeFileSync(path.join(main, 'config'), config);
      });
      const a = path.join(dir, 'a');
      const main = path.join(a, 'log/main');
      const d = runsvdir(program, [dir], dir, env);
      try {
        // the lines are written by the host's engine, which needs no stand-in: the pid is read
        // once it is svlogd's (exec'd), for until then the child has the host's saved uid
        await until(`${name}: lines logged`, () => isRunning(a) && lines(main).length === 2 && path.basename(exe(logPid(a))) === 'svlogd');
        const pid = logPid(a);
        assert.deepEqual(ids(pid), { uid: '65534 65534 65534 65534', gid: '65534 65534 65534 65534', groups: '65534' }, `${name}: the logger is nobody's`);
        if (name === 'ours') {
          assert.equal(exe(pid), standin, 'in the host: the log pid is the stand-in');
          const nodes = note(d).filter((p) => exe(p) === node);
          assert.deepEqual(nodes, hosts(d), 'the host is the only Node process under runsvdir');
        }
        assert.equal(run(sv, ['alarm', path.join(a, 'log')]).code, 0);
        await until(`${name}: processed`, () => fs.readdirSync(main).some((f) => f.endsWith('.s')) && !fs.readdirSync(main).some((f) => f.endsWith('.u') || f === 'newstate'));
        const s = fs.readdirSync(main).find((f) => f.endsWith('.s'))!;
        results[name] = { files: listing(main), processed: fs.readFileSync(path.join(main, s), 'latin1').split('\n') };
      } finally {
        await cleanup(d);
      }
    }
    assert.deepEqual(results.ours!.processed, ['processed by nobody:nogroup', 'P: ONE', 'P: TWO', '']);
    assert.deepEqual(results.ours, results.runit);
    assert.deepEqual(results.ours!.files, ['@.s 65534:65534 744', 'current 65534:65534 644', 'lock 65534:65534 600', 'state 65534:65534 644']);
  });

  it('refuses a directory the user cannot enter or write, as runit\'s svlogd run by chpst -u does', { skip: skip || noRef || (ref('chpst') ? false : 'no runit chpst') }, async () => {
    const said: Record<string, string[]> = {};
    for (const [name, program, env] of [['runit', ref('runsvdir')!, runits], ['ours', 'runsvdir', ours]] as const) {
      // a: root's, 0755 (no lock can be made); b: root's, 0700 (cannot be opened)
      const dir = reachable(tree(['a', 'b'], 'echo hello; exec sleep 1000'));
      const mains = ['a', 'b'].map((n) => path.join(dir, n, 'log/main'));
      for (const [i, m] of mains.entries()) {
        fs.mkdirSync(m, { recursive: true });
        fs.chmodSync(m, i ? 0o700 : 0o755);
        script(path.join(path.dirname(m), 'run'), 'exec chpst -u nobody svlogd ./main');
      }
      const d = runsvdir(program, [dir], dir, env);
      try {
        const count = (re: RegExp): number => d.stderr().split('\n').filter((l) => re.test(l)).length;
        await until(`${name}: tried twice each`, () => count(/unable to lock/) >= 2 && count(/unable to open log directory/) >= 2, 20000)
          .catch((e) => { throw new Error(`${e}; said: ${d.stderr()}`); });
        for (const m of mains) assert.deepEqual(fs.readdirSync(m), [], `${name}: nothing made in ${m}`);
        said[name] = [...new Set(d.stderr().split('\n').filter(Boolean))].sort();
      } finally {
        await cleanup(d);
      }
    }
    assert.deepEqual(said.ours, [
      'svlogd: fatal: no functional log directories.',
      'svlogd: warning: unable to lock directory: ./main: access denied',
      'svlogd: warning: unable to open log directory: ./main: access denied',
    ]);
    assert.deepEqual(said.ours, said.runit);
  });

  it('hands a logger that must pause (current not the user\'s) to chpst and svlogd, which pause as runit\'s do; nothing lost', { skip: skip || noRef || (ref('chpst') ? false : 'no runit chpst') }, async () => {
    for (const [name, program, env] of [['runit', ref('runsvdir')!, runits], ['ours', 'runsvdir', ours]] as const) {
      const dir = logged(['a'], 'echo one; echo two; exec sleep 1000', 'exec chpst -u nobody svlogd ./main', (main) => {
        nobodys(main);
        fs.writeFileSync(path.join(main, 'current'), 'old\n', { mode: 0o744 }); // root's, finished: appended to
        fs.chmodSync(path.join(main, 'current'), 0o744);
      });
      const a = path.join(dir, 'a');
      const main = path.join(a, 'log/main');
      const d = runsvdir(program, [dir], dir, env);
      try {
        // runsv writes the pid once the fork returns, which under load can be after svlogd has spoken
        await until(`${name}: svlogd pauses`, () => d.stderr().includes('svlogd: pausing: unable to open current: ./main: access denied') && logPid(a) > 0, 20000);
        const pid = logPid(a);
        assert.equal(ids(pid).uid, '65534 65534 65534 65534', `${name}: svlogd as nobody`);
        if (name === 'ours') assert.equal(exe(pid), node, 'the svlogd program, a process of its own');
        fs.rmSync(path.join(main, 'current'));
        await until(`${name}: logging`, () => lines(main).length === 2, 20000);
        assert.equal(owner(path.join(main, 'current')), '65534:65534 644');
        assert.equal(logPid(a), pid, `${name}: the same svlogd, after its pause`);
      } finally {
        await cleanup(d);
      }
    }
  });

  it('sv hup, alarm, term and exit, kill -9 of the stand-in and of the host: the pid and the user as for plain loggers, no line lost', async () => {
    const dir = logged(['a'], 'i=0; while :; do i=$((i+1)); echo $i; sleep 0.005; done', 'exec chpst -u nobody svlogd ./main', nobodys);
    const a = path.join(dir, 'a');
    const log = path.join(a, 'log');
    const main = path.join(log, 'main');
    const d: Dir = runsvdir('runsvdir', [dir], dir, ours);
    try {
      let pid = 0;
      const logging = async (what: string): Promise<void> => {
        const n = lines(main).length;
        await until(`${what}: logging`, () => inHost(a) && lines(main).length > n + 5);
        assert.equal(ids(logPid(a)).uid, '65534 65534 65534 65534', `${what}: the stand-in is nobody's`);
      };
      const restarted = async (what: string): Promise<void> => {
        await until(`${what}: a new stand-in`, () => inHost(a) && logPid(a) !== pid);
        await logging(what);
        pid = logPid(a);
      };
      await restarted('start');
      fs.writeFileSync(path.join(main, 'config'), 'pX:\n');
      assert.equal(run(sv, ['hup', log]).code, 0);
      await until('the prefix of the new config', () => lines(main).some((l) => /^X:\d+$/.test(l)));
      assert.equal(logPid(a), pid, 'hup: the same pid');
      const rotated = (): string[] => fs.readdirSync(main).filter((f) => f.endsWith('.s'));
      const before = rotated().length;
      assert.equal(run(sv, ['alarm', log]).code, 0);
      await until('alarm: rotated', () => rotated().length > before);
      assert.equal(logPid(a), pid, 'alarm: the same pid');
      assert.equal(run(sv, ['term', log]).code, 0);
      await restarted('sv term');
      process.kill(pid, 'SIGKILL');
      await restarted('kill -9');
      const [host] = hosts(d);
      assert.ok(host);
      process.kill(host, 'SIGKILL');
      await until('a new host', () => { const h = hosts(d); return h.length === 1 && h[0] !== host; });
      await logging('host killed');
      assert.equal(logPid(a), pid, 'host killed: the same stand-in');
      // the new host acts as nobody too: the current it makes is nobody's
      const n = rotated().length;
      assert.equal(run(sv, ['alarm', log]).code, 0);
      await until('alarm: rotated', () => rotated().length > n);
      await until('a new current', () => fs.existsSync(path.join(main, 'current')));
      for (const f of ['current', 'lock', ...rotated()]) assert.match(owner(path.join(main, f)), /^65534:65534 /, f);
      assert.equal(run(sv, ['down', a]).code, 0);
      await until('service down', () => state(a)?.pid === 0);
      // runsv ignores exit for the log service; exit for the service ends its input
      assert.equal(run(sv, ['exit', log]).code, 0);
      assert.ok(alive(pid), 'sv exit log: ignored, as runsv does');
      assert.equal(run(sv, ['exit', a]).code, 0);
      await until('sv exit: the logger gone', () => !alive(pid));
      const got = lines(main).map((l) => Number(l.replace(/^X:/, '')));
      const max = Math.max(...got);
      const seen = new Set(got);
      const missing = [];
      for (let i = 1; i <= max; i++) if (!seen.has(i)) missing.push(i);
      assert.deepEqual(missing, [], 'every line logged');
      assert.doesNotMatch(d.stderr(), /fatal|warning/);
    } finally {
      await cleanup(d);
    }
  });

  it('takes the numeric form with groups; runs any other chpst, or an unknown user, as it is', async () => {
    const dir = logged(['a', 'b', 'c'], 'echo hello; exec sleep 1000', 'exec chpst -u :65534:65534:0 svlogd ./main', nobodys);
    script(path.join(dir, 'b/log/run'), 'exec chpst -u nobody -n 1 svlogd ./main');
    script(path.join(dir, 'c/log/run'), 'exec chpst -u nosuchuser svlogd ./main');
    const [a, b] = ['a', 'b'].map((n) => path.join(dir, n));
    const d = runsvdir('runsvdir', [dir], dir, ours);
    try {
      await until('a logs in the host', () => inHost(a!) && lines(path.join(a!, 'log/main')).length === 1);
      assert.deepEqual(ids(logPid(a!)), { uid: '65534 65534 65534 65534', gid: '65534 65534 65534 65534', groups: '0 65534' });
      await until('b logs', () => lines(path.join(b!, 'log/main')).length === 1);
      assert.equal(exe(logPid(b!)), node, 'chpst -n: the svlogd program, a process of its own');
      assert.equal(ids(logPid(b!)).uid, '65534 65534 65534 65534');
      await until('c: chpst says why', () => d.stderr().includes('chpst: fatal: unknown user/group: nosuchuser'));
    } finally {
      await cleanup(d);
    }
  });
});
