// The npm package: package.json names every program the build makes and
// every page, `npm pack` ships only what a user needs, and the packed tarball
// installed into a fresh prefix runs every program from there.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { cleanup, isRunning, runsvdir, supervised } from './runsvdir-fixtures.js';
import { alive, bin, pidOf, read, root, run, script, startSupervisor, stopAll, tmpdir, until } from './helpers.js';

interface Pkg {
  bin: Record<string, string>;
  man: string[];
  files: string[];
  exports: Record<string, unknown>;
  types: string;
  private?: boolean;
  license: string;
  repository: { url: string };
  engines: { node: string };
}
const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as Pkg;

/** What the build put in bin/: name -> the file a program is (a symlink's target for aliases). */
function built(): Map<string, string> {
  const out = new Map<string, string>();
  for (const name of fs.readdirSync(path.join(root, 'bin'))) {
    if (name === 'package.json') continue;
    const file = path.join(root, 'bin', name);
    const real = fs.lstatSync(file).isSymbolicLink() ? path.basename(fs.readlinkSync(file)) : name;
    out.set(name, `bin/${real}`);
  }
  return out;
}

/** `npm` with no update check or funding chatter, its cache where npm keeps it. */
function npm(args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): { out: string; err: string; code: number | null } {
  const r = spawnSync('npm', [...args, '--no-update-notifier', '--no-fund', '--no-audit'], {
    cwd, encoding: 'utf8', env: { ...process.env, ...env },
  });
  return { out: r.stdout, err: r.stderr, code: r.status };
}

after(stopAll);

describe('package.json', () => {
  test('bin names exactly the programs in bin/, an alias by the program it is', () => {
    const b = built();
    // each direction separately, so the message says which side lacks a name
    for (const [name, file] of b) assert.equal(pkg.bin[name], file, `bin/${name} is not in package.json bin as ${file}`);
    for (const [name, file] of Object.entries(pkg.bin)) {
      assert.ok(b.has(name), `package.json bin ${name} (${file}) is not built into bin/`);
      assert.ok(fs.statSync(path.join(root, file)).mode & 0o111, `${file} is not executable`);
    }
    // the internal host is no program of the user's
    assert.ok(!b.has('runsvdir-host'));
    assert.ok(fs.existsSync(path.join(root, 'libexec/runsvdir-host')));
  });

  test('the host run by hand says it is not to be, whatever fd 3 is', () => {
    for (const fd3 of ['ignore', fs.openSync('/dev/null', 'r')] as const) {
      const r = spawnSync(path.join(root, 'libexec/runsvdir-host'), [], { stdio: ['ignore', 'pipe', 'pipe', fd3], encoding: 'utf8' });
      assert.equal(r.stderr, 'runsvdir-host: fatal: not a program to run by hand: runsvdir starts it\n');
      assert.equal(r.status, 111);
      if (typeof fd3 === 'number') fs.closeSync(fd3);
    }
  });

  test('man names exactly the pages docs/man/ gives, and each is built', () => {
    const sources = fs.readdirSync(path.join(root, 'docs/man')).filter((f) => f.endsWith('.md')).map((f) => `man/${f.slice(0, -3)}`).sort();
    assert.deepEqual([...pkg.man].sort(), sources);
    for (const page of pkg.man) assert.ok(fs.existsSync(path.join(root, page)), `${page} not built`);
  });

  test('each program has its page, chpst\'s personalities too', () => {
    for (const name of Object.keys(pkg.bin)) assert.ok(pkg.man.includes(`man/${name}.8`), `${name} has no man/${name}.8`);
  });

  test('the fields npm reads for a public package', () => {
    assert.notEqual(pkg.private, true);
    assert.equal(pkg.license, 'BSD-3-Clause');
    assert.ok(fs.readFileSync(path.join(root, 'LICENSE'), 'utf8').includes('BSD 3-Clause'));
    assert.ok(pkg.repository.url);
    assert.match(pkg.engines.node, /^>=20/);
    assert.ok(fs.existsSync(path.join(root, pkg.types)));
  });
});

describe('npm pack', () => {
  test('ships the programs, pages, API and typings, and nothing of the sources or tests', () => {
    // --ignore-scripts: the suite has built already; a rebuild would pull bin/ from under other tests
    const r = npm(['pack', '--dry-run', '--json', '--ignore-scripts'], root);
    assert.equal(r.code, 0, r.err);
    const files = (JSON.parse(r.out) as { files: { path: string }[] }[])[0]!.files.map((f) => f.path).sort();
    const allowed = /^(bin|libexec|lib|man)\/|^(README\.md|LICENSE|package\.json)$/;
    for (const f of files) assert.match(f, allowed, `${f} should not be packed`);
    for (const f of files) assert.doesNotMatch(f, /^(src|test|bench|build|scripts|docs|example|node_modules)\//);
    const want = [
      ...new Set(Object.values(pkg.bin)), ...pkg.man, 'libexec/runsvdir-host', 'bin/package.json', 'libexec/package.json',
      'lib/index.js', 'lib/index.cjs', 'lib/index.d.ts', 'lib/index.d.cts', 'README.md', 'LICENSE', 'package.json',
    ];
    for (const f of want) assert.ok(files.includes(f), `${f} is not packed`);
  });
});

describe('a program copied away from the package', () => {
  test('says it cannot find koffi, in runit\'s words, and exits 111', () => {
    const dir = tmpdir('copied-');
    fs.copyFileSync(bin('runsv'), path.join(dir, 'runsv'));
    fs.chmodSync(path.join(dir, 'runsv'), 0o755);
    const env = { ...process.env };
    delete env.NODE_PATH;
    const r = run(path.join(dir, 'runsv'), [dir], { env });
    assert.equal(r.code, 111);
    assert.match(r.err, /^runsv: fatal: unable to load koffi: file does not exist \(.*\)\n$/);
    assert.ok(!fs.existsSync(path.join(dir, 'supervise')), 'it must not have started');
  });

  test('finds koffi where NODE_PATH says', () => {
    const dir = tmpdir('copied-');
    fs.copyFileSync(bin('chpst'), path.join(dir, 'chpst'));
    fs.chmodSync(path.join(dir, 'chpst'), 0o755);
    const r = run(path.join(dir, 'chpst'), ['-n', '0', '/bin/sh', '-c', 'exit 7'], {
      env: { ...process.env, NODE_PATH: path.join(root, 'node_modules') },
    });
    assert.equal(r.err, '');
    assert.equal(r.code, 7);
  });
});

describe('the packed tarball installed into a fresh prefix', () => {
  const work = tmpdir('install-');
  const prefix = path.join(work, 'prefix');
  const pbin = path.join(prefix, 'bin');
  const pkgDir = path.join(prefix, 'lib/node_modules/runit-ts');
  const env: NodeJS.ProcessEnv = { ...process.env, PATH: `${pbin}:${process.env.PATH}` };
  delete env.NODE_PATH;
  const x = (name: string, args: string[], opts: { cwd?: string; extra?: NodeJS.ProcessEnv } = {}) =>
    run(path.join(pbin, name), args, { cwd: opts.cwd, env: { ...env, ...opts.extra } });

  test('npm install -g from the tarball: no build, no dev dependency', () => {
    const p = npm(['pack', '--ignore-scripts', '--pack-destination', work], root);
    assert.equal(p.code, 0, p.err);
    const tgz = path.join(work, p.out.trim().split('\n').pop()!);
    // koffi's tarball is in npm's cache (npm ci put it there), but not its registry
    // entry until an install has fetched it once: offline if that works, else that entry
    let i = npm(['install', '-g', '--prefix', prefix, '--offline', tgz], work);
    if (i.code !== 0 && /ENOTCACHED/.test(i.err)) i = npm(['install', '-g', '--prefix', prefix, '--prefer-offline', tgz], work);
    assert.equal(i.code, 0, i.err);
    assert.deepEqual(fs.readdirSync(path.join(pkgDir, 'node_modules')), ['koffi']);
    for (const d of ['src', 'scripts', 'build', 'test']) assert.ok(!fs.existsSync(path.join(pkgDir, d)), `${d}/ installed`);
    for (const name of Object.keys(pkg.bin)) {
      assert.equal(fs.realpathSync(path.join(pbin, name)), path.join(pkgDir, pkg.bin[name]!), `${name} not on PATH`);
    }
    for (const page of pkg.man) {
      const f = path.join(prefix, 'share/man/man8', path.basename(page));
      assert.ok(fs.existsSync(f), `${page} not installed`);
    }
  });

  test('runsvdir supervises a service through its host in libexec/, and sv sees it', async () => {
    const dir = path.join(work, 'service');
    script(path.join(dir, 'a/run'), 'exec sleep 1000');
    const d = runsvdir(path.join(pbin, 'runsvdir'), [dir], dir, env);
    try {
      await until('a is up', () => isRunning(path.join(dir, 'a')));
      const r = x('sv', ['status', path.join(dir, 'a')]);
      assert.equal(r.code, 0, r.err);
      assert.match(r.out, /^run: .*\/a: \(pid \d+\) \d+s\n$/);
      const parent = (pid: number | string): string => fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')[1]!;
      // the service's supervisor: the host (it shows as `runsv DIR/*`), runsvdir's child
      const host = parent(pidOf(path.join(dir, 'a')));
      assert.equal(fs.readFileSync(`/proc/${host}/comm`, 'utf8'), 'runsv\n');
      assert.equal(fs.readFileSync(`/proc/${host}/cmdline`, 'latin1').replace(/\0+$/, ''), `runsv ${dir}/*`);
      assert.equal(parent(host), String(d.pid));
      assert.equal(d.stderr(), '');
    } finally {
      await cleanup(d);
    }
  });

  test('runsv and sv: up, status, exit', async () => {
    const dir = path.join(work, 'one');
    script(path.join(dir, 'run'), 'exec sleep 1000');
    const s = startSupervisor(path.join(pbin, 'runsv'), [dir]);
    await until('one is up', () => supervised(dir) && pidOf(dir) > 0);
    const child = pidOf(dir);
    assert.match(x('sv', ['status', dir]).out, /^run: /);
    const r = x('sv', ['-w', '10', 'exit', dir]);
    assert.match(r.out, /^ok: /);
    assert.equal(await s.exited, 0);
    await until('its service gone', () => !alive(child));
    assert.equal(s.stderr(), '');
  });

  test('chpst and every personality', () => {
    const envd = path.join(work, 'env');
    fs.mkdirSync(envd, { recursive: true });
    fs.writeFileSync(path.join(envd, 'GREETING'), 'hello\n');
    assert.deepEqual(x('chpst', ['-e', envd, '/bin/sh', '-c', 'echo $GREETING; exit 3']), { out: 'hello\n', err: '', code: 3 });
    assert.equal(x('envdir', [envd, '/bin/sh', '-c', 'echo $GREETING']).out, 'hello\n');
    assert.match(x('envuidgid', ['root', 'env']).out, /^UID=0$/m);
    assert.equal(x('setuidgid', ['root', 'id', '-u']).out, '0\n');
    assert.equal(x('softlimit', ['-o', '50', '/bin/sh', '-c', 'ulimit -n']).out, '50\n');
    const pg = x('pgrphack', ['/bin/sh', '-c', 'echo $$; ps -o pgid= -p $$']).out.trim().split(/\s+/);
    assert.equal(pg[0], pg[1], 'pgrphack: its own process group');
    assert.deepEqual(x('setlock', [path.join(work, 'lock'), '/bin/sh', '-c', 'echo locked']), { out: 'locked\n', err: '', code: 0 });
  });

  test('svlogd, runsvchdir, utmpset', () => {
    const logd = path.join(work, 'log');
    fs.mkdirSync(logd, { recursive: true });
    const s = spawnSync(path.join(pbin, 'svlogd'), [logd], { input: 'one line\n', env, encoding: 'utf8' });
    assert.equal(s.status, 0, s.stderr);
    assert.equal(read(path.join(logd, 'current')), 'one line\n');

    const levels = path.join(work, 'runsvdir');
    for (const l of ['default', 'single']) fs.mkdirSync(path.join(levels, l), { recursive: true });
    fs.symlinkSync('default', path.join(levels, 'current'));
    const c = x('runsvchdir', ['single'], { extra: { RUNSVDIR: levels } });
    assert.deepEqual(c, { out: 'runsvchdir: single: now current.\n', err: '', code: 0 });
    assert.equal(fs.readlinkSync(path.join(levels, 'current')), 'single');

    // usage only: a real logout would change this machine's utmp (utmpset.test.ts covers it)
    const u = x('utmpset', []);
    assert.equal(u.code, 1);
    assert.match(u.err, /^usage: utmpset \[-w\] line\n/);
  });

  const noMan = spawnSync('man', ['--version']).status === 0 ? false : 'man not installed (apt-get install man-db)';
  test('man finds and renders every page without a warning', { skip: noMan }, () => {
    for (const page of pkg.man) {
      const name = path.basename(page, '.8');
      const w = spawnSync('man', ['-w', name], { env: { ...env, MANPATH: path.join(prefix, 'share/man') }, encoding: 'utf8' });
      // man names the page's real file, through npm's link in share/man
      assert.equal(w.stdout.trim(), fs.realpathSync(path.join(prefix, 'share/man/man8', `${name}.8`)));
      const r = spawnSync('man', ['--warnings', '-l', path.join(prefix, 'share/man/man8', `${name}.8`)], {
        env: { ...env, MANWIDTH: '80', MANPAGER: 'cat', PAGER: 'cat' }, encoding: 'utf8',
      });
      assert.equal(r.status, 0);
      assert.equal(r.stderr, '', `${name}: ${r.stderr}`);
      assert.match(r.stdout, new RegExp(`^${name.toUpperCase()}\\(8\\)`));
    }
  });
});
