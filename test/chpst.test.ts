// chpst over real processes: man chpst, option by option, and what makes it a
// real exec (the pid, the fds, the signals). Run as root: uses the `nobody`
// user and a temporary group.
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { alive, bin, ref, script, sleep, startSupervisor, stopSupervisor, tmpdir as mkTmp, until } from './helpers.js';

const chpst = bin('chpst');

/** Temporary directories, removed when the file's tests are done. */
const made: string[] = [];
function tmpdir(prefix?: string): string {
  const d = mkTmp(prefix);
  made.push(d);
  return d;
}
after(() => { for (const d of made) fs.rmSync(d, { recursive: true, force: true }); });
const isRoot = process.getuid?.() === 0;
const needRoot = isRoot ? false : 'needs root';

interface Ran { out: string; err: string; code: number | null }

function run(program: string, args: string[], opts: { input?: string; cwd?: string; env?: NodeJS.ProcessEnv } = {}): Ran {
  const r = spawnSync(program, args, { encoding: 'utf8', input: opts.input ?? '', cwd: opts.cwd, env: opts.env ?? process.env });
  return { out: r.stdout, err: r.stderr, code: r.status };
}
const sh = (script: string, opts: { env?: NodeJS.ProcessEnv } = {}): Ran => run('/bin/sh', ['-c', script], opts);

/** `Name:\tvalue` from /proc/<pid>/status text. */
const field = (status: string, name: string): string => new RegExp(`^${name}:\\s*(.*)$`, 'm').exec(status)?.[1]?.trim() ?? '';

const children: ChildProcess[] = [];
function start(args: string[]): ChildProcess {
  const c = spawn(chpst, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(c);
  return c;
}
after(() => {
  for (const c of children) if (c.pid && alive(c.pid)) process.kill(c.pid, 'SIGKILL');
});

const group = `chpsttest${process.pid}`;
let gid = -1;
before(() => {
  if (!isRoot) return;
  spawnSync('groupadd', [group]);
  gid = Number(/:x:(\d+):/.exec(fs.readFileSync('/etc/group', 'utf8').split('\n').find((l) => l.startsWith(group + ':')) ?? '')?.[1] ?? -1);
});
after(() => { if (gid >= 0) spawnSync('groupdel', [group]); });

describe('chpst: usage and errors', () => {
  it('exits 100 with the usage when given no program or a bad option', () => {
    let r = run(chpst, []);
    assert.equal(r.code, 100);
    assert.match(r.err, /^usage: chpst \[-vVP012\] .* prog\n\n$/);
    r = run(chpst, ['-x', 'true']);
    assert.equal(r.code, 100);
    assert.match(r.err, /^chpst: illegal option -- x\nusage: chpst /);
    r = run(chpst, ['-u']);
    assert.equal(r.code, 100);
    assert.match(r.err, /^chpst: option requires an argument -- u\n/);
    for (const bad of [['-n', '2x'], ['-o', 'ten'], ['-m', '-1'], ['-l', 'a', '-L', 'b']]) {
      assert.equal(run(chpst, [...bad, 'true']).code, 100, bad.join(' '));
    }
  });

  it('-V prints a version string, then the usage', () => {
    const r = run(chpst, ['-V']);
    assert.equal(r.code, 100);
    assert.match(r.err, /^\$Id: .*\$\nusage: chpst /);
  });

  it('a missing program: exit 111, named by its argv0', () => {
    let r = run(chpst, ['no-such-program-here']);
    assert.equal(r.code, 111);
    assert.equal(r.err, 'chpst: fatal: unable to run: no-such-program-here: file does not exist\n');
    r = run(chpst, ['-b', 'foo', 'no-such-program-here']);
    assert.equal(r.err, 'chpst: fatal: unable to run: foo: file does not exist\n');
    r = run(chpst, ['/etc']);
    assert.equal(r.err, 'chpst: fatal: unable to run: /etc: access denied\n');
  });

  it('searches $PATH as it was given, and /bin:/usr/bin without one', () => {
    const dir = tmpdir();
    fs.writeFileSync(path.join(dir, 'myprog'), '#!/bin/sh\necho found\n', { mode: 0o755 });
    // (node itself must stay findable: bin/chpst starts with #!/usr/bin/env node)
    const node = path.dirname(process.execPath);
    assert.equal(run(chpst, ['myprog'], { env: { PATH: `/nonexistent::${dir}:${node}` } }).out, 'found\n');
    assert.equal(run(process.execPath, [chpst, 'sh', '-c', 'echo ok'], { env: {} }).out, 'ok\n');
    // an envdir PATH changes the program's environment, not where chpst looks
    fs.mkdirSync(path.join(dir, 'env'));
    fs.writeFileSync(path.join(dir, 'env/PATH'), dir);
    assert.equal(run(chpst, ['-e', path.join(dir, 'env'), 'myprog'], { env: { PATH: `/bin:/usr/bin:${node}` } }).code, 111);
  });
});

describe('chpst: a real exec', () => {
  it('the program keeps chpst\'s pid, with stdin, stdout and stderr open', async () => {
    const c = spawn(chpst, ['sh', '-c', 'echo $$; read x; echo "got $x"; echo err >&2'], { stdio: ['pipe', 'pipe', 'pipe'] });
    children.push(c);
    let out = '';
    let err = '';
    c.stdout!.on('data', (d: Buffer) => { out += d.toString(); });
    c.stderr!.on('data', (d: Buffer) => { err += d.toString(); });
    await until('pid printed', () => out.includes('\n'));
    assert.equal(Number(out.trim()), c.pid);
    c.stdin!.end('hello\n');
    // 'close', not 'exit': at 'exit' the last output may still be unread
    const code = await new Promise((r) => c.on('close', r));
    assert.equal(code, 0);
    assert.equal(out, `${c.pid}\ngot hello\n`);
    assert.equal(err, 'err\n');
  });

  it('leaves no signal ignored or blocked beyond what the caller had', () => {
    // the caller ignores HUP (as nohup does) and blocks nothing; Node ignores
    // PIPE and XFSZ for itself: the program must not inherit those
    // the caller's own state read with builtins only: a shell that forks may be caught with every signal blocked
    const r = sh(`trap '' HUP; while read -r l; do case $l in SigIgn*|SigBlk*) echo "$l";; esac; done </proc/$$/status
      exec ${chpst} grep -E '^Sig(Ign|Blk)' /proc/self/status`);
    assert.equal(r.code, 0, r.err);
    const lines = r.out.trim().split('\n');
    const caller = lines.slice(0, 2).join('\n');
    const prog = lines.slice(2).join('\n');
    for (const f of ['SigIgn', 'SigBlk']) {
      const had = BigInt('0x' + field(caller, f));
      const has = BigInt('0x' + field(prog, f));
      assert.equal(has & ~had, 0n, `${f}: program ${has.toString(16)}, caller ${had.toString(16)}`);
    }
    assert.equal(BigInt('0x' + field(prog, 'SigIgn')) & (1n << 12n), 0n, 'SIGPIPE not ignored');
  });

  it('hands on the caller\'s fds and none of Node\'s', () => {
    const list = `cd /proc/$$/fd && for f in *; do echo "$f $(readlink $f)"; done`;
    const fdsOf = (out: string): Map<string, string> => new Map(out.trim().split('\n').map((l) => l.split(' ') as [string, string]));
    const base = fdsOf(run('bash', ['-c', list]).out); // what this test process hands on anyway
    // Node marks 3..15 close-on-exec at start-up, and on from 16 while they are open
    const r = run('bash', ['-c', `exec 5</etc/hostname 16</etc/hostname 17</etc/hostname 20</etc/passwd; exec ${chpst} bash -c '${list}'`]);
    assert.equal(r.code, 0, r.err);
    const fds = fdsOf(r.out);
    const num = (m: Map<string, string>): number[] => [...m.keys()].map(Number).sort((a, b) => a - b);
    assert.deepEqual(num(fds), [...new Set([...num(base), 5, 16, 17, 20])].sort((a, b) => a - b));
    assert.equal(fds.get('17'), '/etc/hostname');
    assert.equal(fds.get('5'), '/etc/hostname');
    assert.equal(fds.get('20'), '/etc/passwd');
  });

  it('passes arguments and the environment byte for byte', () => {
    const r = sh(`W="$(printf 'z\\377')" exec ${chpst} sh -c 'printf %s "$1$W" | od -An -tx1' x "$(printf 'a\\377\\376b')"`);
    assert.equal(r.code, 0, r.err);
    assert.equal(r.out.replace(/\s+/g, ' ').trim(), '61 ff fe 62 7a ff');
  });
});

describe('chpst: options', () => {
  it('-u user: uid, gid and only that gid as supplementary group', { skip: needRoot }, () => {
    const r = run(chpst, ['-u', 'nobody', 'cat', '/proc/self/status']);
    assert.equal(r.code, 0, r.err);
    assert.match(field(r.out, 'Uid'), /^65534\s+65534\s+65534\s+65534$/);
    assert.match(field(r.out, 'Gid'), /^65534\s+65534\s+65534\s+65534$/);
    assert.equal(field(r.out, 'Groups'), '65534');
  });

  it('-u user:group:group sets the gid to the first and the groups to all', { skip: needRoot }, () => {
    const r = run(chpst, ['-u', `nobody:${group}:nogroup`, 'cat', '/proc/self/status']);
    assert.equal(r.code, 0, r.err);
    assert.match(field(r.out, 'Gid'), new RegExp(`^${gid}\\s`));
    assert.deepEqual(field(r.out, 'Groups').split(/\s+/).map(Number).sort(), [gid, 65534].sort());
    assert.match(field(r.out, 'Uid'), /^65534\s/);
  });

  it('-u :uid:gid:gid takes numbers without looking them up', { skip: needRoot }, () => {
    const r = run(chpst, ['-u', ':4242:4343:4444', 'cat', '/proc/self/status']);
    assert.equal(r.code, 0, r.err);
    assert.match(field(r.out, 'Uid'), /^4242\s/);
    assert.match(field(r.out, 'Gid'), /^4343\s/);
    assert.equal(field(r.out, 'Groups'), '4343 4444');
  });

  it('-u with an unknown user or group, or bad numbers: exit 111', () => {
    let r = run(chpst, ['-u', 'no-such-user', 'true']);
    assert.deepEqual([r.code, r.err], [111, 'chpst: fatal: unknown user/group: no-such-user\n']);
    r = run(chpst, ['-u', 'nobody:no-such-group', 'true']);
    assert.deepEqual([r.code, r.err], [111, 'chpst: fatal: unknown user/group: nobody:no-such-group\n']);
    r = run(chpst, ['-u', ':65534', 'true']);
    assert.deepEqual([r.code, r.err], [111, 'chpst: fatal: invalid uid/gids: 65534\n']);
  });

  it('-u as a user who may not: unable to setgroups', { skip: needRoot }, () => {
    const r = run('su', ['nobody', '-s', '/bin/sh', '-c', `${chpst} -u root true`]);
    assert.deepEqual([r.code, r.err], [111, 'chpst: fatal: unable to setgroups: permission denied\n']);
  });

  it('-U user[:group] sets $UID and $GID, and nothing else', { skip: needRoot }, () => {
    let r = run(chpst, ['-U', `nobody:${group}`, 'sh', '-c', 'echo $UID $GID $(id -u)']);
    assert.equal(r.out, `65534 ${gid} 0\n`);
    r = run(chpst, ['-U', ':12:34', 'sh', '-c', 'echo $UID $GID']);
    assert.equal(r.out, '12 34\n');
  });

  it('-b argv0 runs the program under another 0th argument', () => {
    const r = run(chpst, ['-b', 'another-name', 'sh', '-c', 'echo $0']);
    assert.equal(r.out, 'another-name\n');
  });

  it('-e dir: first line, trailing blanks cut, NUL to newline, empty file unsets', () => {
    const dir = path.join(tmpdir(), 'env');
    fs.mkdirSync(path.join(dir, 'sub'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'A'), 'hello \t \nsecond line\n');
    fs.writeFileSync(path.join(dir, 'B'), 'a\0b');
    fs.writeFileSync(path.join(dir, 'C'), '');
    fs.writeFileSync(path.join(dir, '.D'), 'hidden');
    fs.writeFileSync(path.join(dir, 'E'), '  lead');
    const env = { PATH: process.env.PATH, C: 'was set', A: 'old' };
    let r = run(chpst, ['-e', dir, 'sh', '-c', 'echo "[$A][$B][${C-unset}][${D-unset}][$E]"'], { env });
    assert.equal(r.code, 0, r.err);
    assert.equal(r.out, '[hello][a\nb][unset][unset][  lead]\n');
    assert.equal(r.err, '', 'a subdirectory is skipped quietly');
    r = run(chpst, ['-v', '-e', dir, 'true'], { env });
    assert.equal(r.code, 0);
    assert.equal(r.err, `chpst: warning: unable to read ${dir}/sub: is a directory\n`);
  });

  it('-e with a missing or unreadable directory: exit 111', { skip: needRoot }, () => {
    let r = run(chpst, ['-e', '/nonexistent', 'true']);
    assert.deepEqual([r.code, r.err], [111, 'chpst: fatal: unable to switch to directory: /nonexistent: file does not exist\n']);
    const dir = tmpdir();
    fs.chmodSync(dir, 0o711);
    fs.writeFileSync(path.join(dir, 'X'), 'x');
    fs.chmodSync(path.join(dir, 'X'), 0);
    r = run('su', ['nobody', '-s', '/bin/sh', '-c', `${chpst} -e ${dir} true`]);
    assert.deepEqual([r.code, r.err], [111, `chpst: fatal: unable to open directory: ${dir}: access denied\n`]);
    fs.chmodSync(dir, 0o755);
    r = run('su', ['nobody', '-s', '/bin/sh', '-c', `${chpst} -e ${dir} true`]);
    assert.deepEqual([r.code, r.err], [111, `chpst: fatal: unable to read ${dir}/X: access denied\n`]);
  });

  it('-/ root and -C pwd: chroot, then chdir inside it; -u looks the user up there', { skip: needRoot }, () => {
    const root = makeRoot();
    let r = run(chpst, ['-/', root, '/bin/sh', '-c', 'pwd; echo /*']);
    assert.equal(r.code, 0, r.err);
    assert.equal(r.out, '/\n/bin /etc /lib /lib64 /srv\n');
    r = run(chpst, ['-/', root, '-C', '/srv', '-u', 'nobody', '/bin/sh', '-c', 'pwd; echo $(cat /etc/marker)']);
    assert.equal(r.code, 0, r.err);
    assert.equal(r.out, '/srv\nin the chroot\n');
    r = run(chpst, ['-/', '/nonexistent', 'true']);
    assert.deepEqual([r.code, r.err], [111, 'chpst: fatal: unable to change directory: /nonexistent: file does not exist\n']);
  });

  it('-C pwd changes the working directory', () => {
    const dir = fs.realpathSync(tmpdir());
    assert.equal(run(chpst, ['-C', dir, 'pwd']).out, `${dir}\n`);
    const r = run(chpst, ['-C', '/nonexistent', 'pwd']);
    assert.equal(r.code, 111);
  });

  it('-n inc adds to the nice value, with a sign or without', () => {
    const base = Number(run('nice', []).out);
    assert.equal(Number(run(chpst, ['-n', '3', 'nice']).out), base + 3);
    assert.equal(Number(run(chpst, ['-n', '+2', '-n', '4', 'nice']).out), base + 4);
    if (isRoot) assert.equal(Number(run(chpst, ['-n', '-1', 'nice']).out), base - 1);
  });

  it('-l lock: the program holds the lock; -L fails at once; -l waits', async () => {
    const file = path.join(tmpdir(), 'lock');
    const holder = start(['-L', file, 'sleep', '1000']);
    await until('lock held', () => /FLOCK\s+ADVISORY\s+WRITE/.test(fdinfoLocks(holder.pid!)));
    assert.equal(fs.statSync(file).mode & 0o777, 0o600);
    const r = run(chpst, ['-L', file, 'true']);
    assert.deepEqual([r.code, r.err], [111, `chpst: fatal: unable to lock: ${file}: temporary failure\n`]);
    const waiter = start(['-l', file, 'echo', 'got it']);
    let out = '';
    waiter.stdout!.on('data', (d: Buffer) => { out += d.toString(); });
    const exited = new Promise((res) => waiter.on('close', res)); // stdout read to the end
    await until('waiter has the lock file open', () => opens(waiter.pid!, file));
    assert.equal(out, '', 'no output while the lock is held');
    process.kill(holder.pid!, 'SIGKILL');
    assert.equal(await exited, 0);
    assert.equal(out, 'got it\n');
    const bad = run(chpst, ['-l', '/nonexistent/lock', 'true']);
    assert.deepEqual([bad.code, bad.err], [111, 'chpst: fatal: unable to open lock: /nonexistent/lock: file does not exist\n']);
  });

  it('-m -d -o -p -f -c -r -t set soft limits, capped at the hard limit', () => {
    const r = run(chpst, ['-m', '300000000', '-o', '50', '-p', '77', '-f', '4096', '-c', '0', '-t', '9', '-r', '5000000',
      'bash', '-c', 'ulimit -n; ulimit -u; ulimit -f; ulimit -c; ulimit -t; ulimit -m; ulimit -d; ulimit -s; ulimit -v']);
    assert.equal(r.code, 0, r.err);
    assert.deepEqual(r.out.trim().split('\n'), ['50', '77', '4', '0', '9', '4882', '292968', '292968', '292968']);
    const hard = sh('ulimit -Hn').out.trim();
    assert.equal(run(chpst, ['-o', '999999999999', 'sh', '-c', 'ulimit -n']).out.trim(), hard);
    assert.equal(run(chpst, ['-d', '400000000', 'sh', '-c', 'ulimit -d']).out.trim(), '390625');
  });

  it('-P runs the program in a new session and process group', () => {
    const r = run(chpst, ['-P', 'sh', '-c', 'echo $$; cut -d" " -f5,6 /proc/$$/stat']);
    const [pid, ids] = r.out.trim().split('\n');
    assert.equal(ids, `${pid} ${pid}`);
  });

  it('-0 -1 -2 close stdin, stdout, stderr', async () => {
    const fdsOf = async (opts: string[]): Promise<string[]> => {
      const c = start([...opts, 'sleep', '1000']);
      // the dynamic loader briefly holds the lowest free fd while it maps libc: wait for
      // sleep itself, asleep in nanosleep (state S), however long a loaded machine takes
      await until('sleep asleep', () => fs.readFileSync(`/proc/${c.pid}/cmdline`, 'utf8').startsWith('sleep\0') &&
        /^State:\s+S/m.test(fs.readFileSync(`/proc/${c.pid}/status`, 'utf8')));
      const list = (): string[] => fs.readdirSync(`/proc/${c.pid}/fd`).sort();
      let fds = list();
      for (let i = 0; i < 100; i++) {
        await sleep(100);
        const again = list();
        if (again.join(' ') === fds.join(' ')) break;
        fds = again;
      }
      process.kill(c.pid!, 'SIGKILL');
      return fds;
    };
    const all = await fdsOf([]);
    assert.ok(['0', '1', '2'].every((f) => all.includes(f)));
    assert.deepEqual(await fdsOf(['-0']), all.filter((f) => f !== '0'));
    assert.deepEqual(await fdsOf(['-12']), all.filter((f) => f !== '1' && f !== '2'));
  });

  it('bundles options as runit parses them', { skip: needRoot }, () => {
    const r = run(chpst, ['-vPunobody', '-o50', '--', 'sh', '-c', 'id -u; ulimit -n']);
    assert.equal(r.code, 0, r.err);
    assert.equal(r.out, '65534\n50\n');
  });
});

describe('chpst under runsv', () => {
  const runsv = ref('runsv');
  it('runsv\'s supervise/pid names the daemon itself, running as the user', { skip: runsv === null ? 'reference runit not installed' : needRoot }, async () => {
    const dir = path.join(tmpdir(), 'svc');
    script(path.join(dir, 'run'), `exec ${chpst} -u nobody -P sleep 1000`);
    const sv = startSupervisor(runsv!, [dir]);
    try {
      const pidFile = path.join(dir, 'supervise/pid');
      let pid = 0;
      await until('the daemon runs', () => {
        pid = Number(fs.readFileSync(pidFile, 'utf8').trim());
        return pid > 0 && fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').startsWith('sleep\0');
      });
      const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
      assert.match(field(status, 'Uid'), /^65534\s/);
      assert.equal(field(status, 'PPid'), String(sv.pid), 'a child of runsv, nothing in between');
    } finally {
      await stopSupervisor(sv);
    }
  });
});

describe('chpst personalities', () => {
  it('envdir dir child: a subdirectory is an error there', () => {
    const dir = path.join(tmpdir(), 'env');
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, 'X'), 'xval\n');
    assert.equal(run(bin('envdir'), [dir, 'sh', '-c', 'echo $X']).out, 'xval\n');
    fs.mkdirSync(path.join(dir, 'sub'));
    const r = run(bin('envdir'), [dir, 'true']);
    assert.deepEqual([r.code, r.err], [111, `chpst: fatal: unable to read ${dir}/sub: is a directory\n`]);
    assert.deepEqual([run(bin('envdir'), [dir]).code, run(bin('envdir'), [dir]).err], [100, 'usage: envdir dir child\n\n']);
  });

  it('setuidgid and envuidgid take a plain account', { skip: needRoot }, () => {
    assert.equal(run(bin('setuidgid'), ['nobody', 'id', '-u']).out, '65534\n');
    assert.equal(run(bin('envuidgid'), ['nobody', 'sh', '-c', 'echo $UID $GID']).out, '65534 65534\n');
    const r = run(bin('setuidgid'), ['nobody:nogroup', 'true']);
    assert.deepEqual([r.code, r.err], [111, 'chpst: fatal: unknown account: nobody:nogroup\n']);
    assert.equal(run(bin('setuidgid'), ['nobody']).err, 'usage: setuidgid account child\n\n');
  });

  it('pgrphack child: a new session', () => {
    const r = run(bin('pgrphack'), ['sh', '-c', 'echo $$; cut -d" " -f5,6 /proc/$$/stat']);
    const [pid, ids] = r.out.trim().split('\n');
    assert.equal(ids, `${pid} ${pid}`);
  });

  it('softlimit: daemontools options, = for the hard limit', () => {
    const hard = sh('ulimit -Hn').out.trim();
    let r = run(bin('softlimit'), ['-o', '40', '-s', '1000000', 'sh', '-c', 'ulimit -n; ulimit -s']);
    assert.equal(r.out, '40\n976\n');
    r = run(bin('softlimit'), ['-o', '=', 'sh', '-c', 'ulimit -n']);
    assert.equal(r.out.trim(), hard);
    r = run(bin('softlimit'), ['-z', 'true']);
    assert.equal(r.code, 100);
    assert.match(r.err, /^softlimit: illegal option -- z\nusage: softlimit \[-a allbytes\]/);
  });

  it('setlock: -n gives up, -x exits 0 quietly, the default waits', async () => {
    const file = path.join(tmpdir(), 'lock');
    const holder = start(['-L', file, 'sleep', '1000']);
    await until('lock held', () => /FLOCK/.test(fdinfoLocks(holder.pid!)));
    let r = run(bin('setlock'), ['-n', file, 'echo', 'ran']);
    assert.deepEqual([r.code, r.out, r.err], [111, '', `chpst: fatal: unable to lock: ${file}: temporary failure\n`]);
    r = run(bin('setlock'), ['-nx', file, 'echo', 'ran']);
    assert.deepEqual([r.code, r.out, r.err], [0, '', '']);
    r = run(bin('setlock'), ['-x', '/nonexistent/lock', 'echo', 'ran']);
    assert.deepEqual([r.code, r.out, r.err], [0, '', '']);
    r = run(bin('setlock'), ['-x', path.join(tmpdir(), 'l2'), 'no-such-program-here']);
    assert.deepEqual([r.code, r.err], [0, '']);
    const waiter = spawn(bin('setlock'), [file, 'echo', 'ran'], { stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(waiter);
    let out = '';
    waiter.stdout!.on('data', (d: Buffer) => { out += d.toString(); });
    const exited = new Promise((res) => waiter.on('close', res)); // stdout read to the end
    await until('waiter has the lock file open', () => opens(waiter.pid!, file));
    assert.equal(out, '', 'setlock waits by default');
    process.kill(holder.pid!, 'SIGKILL');
    assert.equal(await exited, 0);
    assert.equal(out, 'ran\n');
    assert.equal(run(bin('setlock'), [file]).code, 100);
  });
});

/** Whether process `pid` has `file` open. */
function opens(pid: number, file: string): boolean {
  for (const fd of fs.readdirSync(`/proc/${pid}/fd`)) {
    try { if (fs.readlinkSync(`/proc/${pid}/fd/${fd}`) === file) return true; } catch { /* closed */ }
  }
  return false;
}

function fdinfoLocks(pid: number): string {
  let s = '';
  for (const fd of fs.readdirSync(`/proc/${pid}/fdinfo`)) {
    try { s += fs.readFileSync(`/proc/${pid}/fdinfo/${fd}`, 'utf8'); } catch { /* closed */ }
  }
  return s;
}

/** A tiny root: /bin/sh and cat with their libraries, /etc/passwd and /etc/group. */
function makeRoot(): string {
  const root = tmpdir('chpst-root-');
  const copy = (file: string): void => {
    const to = path.join(root, file);
    fs.mkdirSync(path.dirname(to), { recursive: true });
    fs.copyFileSync(fs.realpathSync(file), to);
    fs.chmodSync(to, 0o755);
  };
  const progs = [['/bin/sh', fs.realpathSync('/bin/sh')], ['/bin/cat', fs.realpathSync('/bin/cat')]];
  for (const [as, real] of progs) {
    const to = path.join(root, as!);
    fs.mkdirSync(path.dirname(to), { recursive: true });
    fs.copyFileSync(real!, to);
    fs.chmodSync(to, 0o755);
    const libs = spawnSync('ldd', [real!], { encoding: 'utf8' }).stdout.match(/\/\S+/g) ?? [];
    for (const l of libs) if (!fs.existsSync(path.join(root, l))) copy(l);
  }
  fs.mkdirSync(path.join(root, 'etc'));
  fs.mkdirSync(path.join(root, 'srv'));
  fs.chmodSync(root, 0o755);
  fs.writeFileSync(path.join(root, 'etc/passwd'), 'root:x:0:0::/:/bin/sh\nnobody:x:65534:65534::/:/bin/sh\n');
  fs.writeFileSync(path.join(root, 'etc/group'), 'root:x:0:\nnogroup:x:65534:\n');
  fs.writeFileSync(path.join(root, 'etc/marker'), 'in the chroot\n');
  return root;
}
