// chpst against the reference runit chpst (2.1.2, /usr/bin/chpst), and the
// personalities through symlinks to each: same arguments, same setup, the same
// exit code, output and messages. Our usage line also lists -C (runit 2.3.0);
// that is the one difference normalized away.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { bin, ref, tmpdir as mkTmp } from './helpers.js';

const reference = ref('chpst');

/** Temporary directories, removed when the file's tests are done. */
const made: string[] = [];
function tmpdir(prefix?: string): string {
  const d = mkTmp(prefix);
  made.push(d);
  return d;
}
after(() => { for (const d of made) fs.rmSync(d, { recursive: true, force: true }); });
const skip = reference === null ? 'reference runit not installed' : process.getuid?.() !== 0 ? 'needs root' : false;

const personalities = ['envdir', 'envuidgid', 'pgrphack', 'setuidgid', 'softlimit', 'setlock'];

/** A directory of links, one per name, all to `target`. */
function links(target: string): string {
  const dir = tmpdir('chpst-links-');
  for (const p of ['chpst', ...personalities]) fs.symlinkSync(target, path.join(dir, p));
  return dir;
}

interface Ran { code: number | null; out: string; err: string }

function run(dir: string, name: string, args: string[], cwd: string): Ran {
  const env = { PATH: process.env.PATH ?? '/bin:/usr/bin', LC_ALL: 'C' };
  const r = spawnSync(path.join(dir, name), args, { cwd, env, encoding: 'utf8', input: '' });
  return { code: r.status, out: r.stdout, err: r.stderr.replace('[-C pwd] ', '') };
}

describe('chpst against runit\'s chpst', { skip }, () => {
  const ours = links(bin('chpst'));
  const theirs = links(reference ?? '/nonexistent');
  const work = tmpdir('chpst-diff-');
  const env = path.join(work, 'env');
  fs.mkdirSync(path.join(env, 'sub'), { recursive: true });
  fs.writeFileSync(path.join(env, 'A'), 'one \t\ntwo\n');
  fs.writeFileSync(path.join(env, 'B'), 'x\0y');
  fs.writeFileSync(path.join(env, 'PATH'), '');
  fs.writeFileSync(path.join(env, '.hidden'), 'no');
  const flat = path.join(work, 'flat');
  fs.mkdirSync(flat);
  fs.writeFileSync(path.join(flat, 'HOME'), '/nowhere');
  fs.writeFileSync(path.join(flat, 'LC_ALL'), '');

  const leader = 'set -- $(cut -d" " -f5,6 /proc/$$/stat); [ "$1" = $$ ] && [ "$2" = $$ ] && echo leader';
  const cases: [string, string[]][] = [
    ['chpst', []],
    ['chpst', ['-x', 'true']],
    ['chpst', ['-u']],
    ['chpst', ['-n', '2x', 'true']],
    ['chpst', ['-o', 'ten', 'true']],
    ['chpst', ['-l', 'a', '-L', 'b', 'true']],
    ['chpst', ['no-such-program-here']],
    ['chpst', ['-b', 'other', 'no-such-program-here']],
    ['chpst', ['/etc']],
    ['chpst', ['-b', 'zero', 'sh', '-c', 'echo $0 "$@"', 'a', 'b c']],
    ['chpst', ['-u', 'nobody', 'id']],
    ['chpst', ['-u', 'nobody:nogroup:root', 'id']],
    ['chpst', ['-u', ':4242:4343:4444', 'sh', '-c', 'grep -E "^(Uid|Gid|Groups)" /proc/$$/status']],
    ['chpst', ['-u', ':65534', 'true']],
    ['chpst', ['-u', 'no-such-user', 'true']],
    ['chpst', ['-u', 'nobody:no-such-group', 'true']],
    ['chpst', ['-U', 'nobody:nogroup', 'sh', '-c', 'echo $UID $GID; id -u']],
    ['chpst', ['-U', ':12:34', 'env']],
    ['chpst', ['-e', env, 'env']],
    ['chpst', ['-v', '-e', env, 'true']],
    ['chpst', ['-e', flat, '-U', 'nobody', 'env']],
    ['chpst', ['-e', '/nonexistent', 'true']],
    ['chpst', ['-e', '/etc/hostname', 'true']],
    ['chpst', ['-/', '/nonexistent', 'true']],
    ['chpst', ['-/', '/', 'pwd']],
    ['chpst', ['-n', '3', 'nice']],
    ['chpst', ['-n', '+3', '-n', '-2', 'nice']],
    ['chpst', ['-P', 'sh', '-c', leader]],
    ['chpst', ['-m', '300000000', '-o', '50', '-p', '77', '-f', '4096', '-c', '0', '-t', '9', '-r', '5000000', 'sh', '-c', 'ulimit -a']],
    ['chpst', ['-o', '99999999999', '-d400000000', 'sh', '-c', 'ulimit -n; ulimit -d']],
    ['chpst', ['-o', '', 'true']],
    ['chpst', ['-l', path.join(work, 'lock'), 'sh', '-c', 'cat /proc/$$/fdinfo/* 2>/dev/null | grep -c FLOCK']],
    ['chpst', ['-L', '/nonexistent/lock', 'true']],
    ['chpst', ['-0', 'sh', '-c', 'cd /proc/$$/fd && echo *']],
    ['chpst', ['-02', 'sh', '-c', 'cd /proc/$$/fd && echo *']],
    ['chpst', ['-vP012u', 'nobody', 'true']],
    ['envdir', []],
    ['envdir', [env]],
    ['envdir', [env, 'true']],
    ['envdir', [flat, 'env']],
    ['envdir', ['/nonexistent', 'true']],
    ['envuidgid', ['nobody', 'sh', '-c', 'echo $UID $GID']],
    ['envuidgid', ['nobody:nogroup', 'true']],
    ['setuidgid', []],
    ['setuidgid', ['nobody', 'id']],
    ['setuidgid', ['no-such-user', 'true']],
    ['pgrphack', []],
    ['pgrphack', ['sh', '-c', leader]],
    ['pgrphack', ['no-such-program-here']],
    ['softlimit', []],
    ['softlimit', ['-z', 'true']],
    ['softlimit', ['-m', 'x', 'true']],
    ['softlimit', ['-o', '=', '-s', '1000000', '-a', '400000000', 'sh', '-c', 'ulimit -n; ulimit -s; ulimit -v']],
    ['setlock', []],
    ['setlock', ['-z', 'f', 'true']],
    ['setlock', [path.join(work, 'lock2')]],
    ['setlock', [path.join(work, 'lock2'), 'echo', 'locked']],
    ['setlock', ['-X', '/nonexistent/lock', 'echo', 'locked']],
    ['setlock', ['-x', '/nonexistent/lock', 'echo', 'locked']],
    ['setlock', ['-x', path.join(work, 'lock3'), 'no-such-program-here']],
  ];

  for (const [name, args] of cases) {
    it(`${name} ${args.join(' ')}`, () => {
      const a = run(ours, name, args, work);
      const b = run(theirs, name, args, work);
      assert.deepEqual(a, b);
    });
  }

  it('chpst -V: a version string, then the usage', () => {
    const a = run(ours, 'chpst', ['-V'], work);
    const b = run(theirs, 'chpst', ['-V'], work);
    assert.equal(a.code, b.code);
    assert.equal(a.err.split('\n').slice(1).join('\n'), b.err.split('\n').slice(1).join('\n'));
  });

  it('the program has the same fds and signal state under both', () => {
    // builtins only: a shell that forks may be caught with every signal blocked
    const fds = `sh -c 'cd /proc/$$/fd && echo *'`;
    const sigs = 'grep -E "^Sig(Blk|Ign)" /proc/self/status';
    const viaShell = (dir: string, probe: string): Ran => {
      const r = spawnSync('bash', ['-c', `exec 3</etc/hostname 11</etc/hostname 15</etc/hostname 16</etc/hostname 17</etc/hostname 30</etc/passwd; exec ${dir}/chpst ${probe}`], { encoding: 'utf8' });
      return { code: r.status, out: r.stdout, err: r.stderr };
    };
    assert.deepEqual(viaShell(ours, fds), viaShell(theirs, fds));
    assert.deepEqual(viaShell(ours, sigs), viaShell(theirs, sigs));
  });
});
