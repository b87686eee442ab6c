// Process 1 for real: a program started as process 1 of a new PID namespace
// with a private mount namespace (unshare --pid --fork --mount-proc --mount),
// /etc/runit bind-mounted to a temporary directory and a FIFO over
// /dev/console, read here (held open read-write: never an EOF, never a
// blocked writer). /run is a fresh tmpfs in which runit.stopit and
// runit.reboot point into /etc/runit, so Debian's /sbin/runit (which reads
// those two there) and ours see the same files. The namespace dies with its
// process 1; every test checks that nothing of it is left.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { bin, tmpdir, until } from './helpers.js';

export const REF_RUNIT = '/sbin/runit';
export const haveRefRunit = fs.existsSync(REF_RUNIT);
export const noRefRunit = haveRefRunit ? false : 'reference runit not installed (apt-get install runit: /sbin/runit)';
export const haveStrace = spawnSync('strace', ['-V']).status === 0;

const canNamespace = process.getuid?.() === 0 && fs.existsSync('/etc/runit') && fs.existsSync('/dev/console')
  && spawnSync('unshare', ['--pid', '--fork', '--mount-proc', '--mount', 'true']).status === 0;
/** Skip message for tests that need a PID namespace. */
export const noNamespace = canNamespace ? false : 'needs root, unshare(1), /etc/runit and /dev/console (a PID and mount namespace)';

const NS_SH = `#!/bin/sh
# ns.sh DIR PROGRAM...: DIR/etc over /etc/runit, DIR/console over /dev/console, then exec PROGRAM as process 1
d=$1; shift
mount --bind "$d/etc" /etc/runit && mount --bind "$d/console" /dev/console && mount -t tmpfs runit-ts /run \\
  && ln -s /etc/runit/stopit /run/runit.stopit && ln -s /etc/runit/reboot /run/runit.reboot || exit 99
exec "$@"
`;

export interface Boot {
  dir: string;
  /** The temporary directory mounted over /etc/runit. */
  etc: string;
  /** What was written to /dev/console so far. */
  console: () => string;
  /** unshare's exit as a shell tells it: 130 after a halt (process 1 ended by SIGINT), 129 after a reboot (SIGHUP). */
  exited: Promise<number | null>;
  /** Standard error of unshare (and of the program before it takes the console). */
  stderr: () => string;
  /** Process 1's pid as seen from here, once known. */
  pid1: () => number;
  /** Its PID namespace's id, once known. */
  ns: () => string;
  /** Let go of the namespace (held open from here so that its id is not given to another meanwhile). */
  release: () => void;
}

const booted: Boot[] = [];

export interface BootOptions {
  env?: NodeJS.ProcessEnv;
  /** Extra files under /etc/runit: name -> [body, mode]. */
  files?: Record<string, [string, number]>;
  /** Arguments for the program. */
  args?: string[];
}

/** Stage scripts (bodies after `#!/bin/sh`) for /etc/runit/1, 2, 3; a missing key means no such file. */
export type Stages = Partial<Record<'1' | '2' | '3', string>>;

/** Start `program` as process 1; `stages` may use the test's directory (for marker files). */
export function boot(program: string, stages: Stages | ((dir: string) => Stages), opts: BootOptions = {}): Boot {
  const dir = tmpdir('runit-init-');
  const etc = path.join(dir, 'etc');
  fs.mkdirSync(etc);
  for (const [name, body] of Object.entries(typeof stages === 'function' ? stages(dir) : stages)) fs.writeFileSync(path.join(etc, name), `#!/bin/sh\n${body}\n`, { mode: 0o755 });
  for (const [name, [body, mode]] of Object.entries(opts.files ?? {})) {
    fs.writeFileSync(path.join(etc, name), body);
    fs.chmodSync(path.join(etc, name), mode);
  }
  const fifo = path.join(dir, 'console');
  if (spawnSync('mkfifo', [fifo]).status !== 0) throw new Error('mkfifo failed');
  fs.writeFileSync(path.join(dir, 'ns.sh'), NS_SH, { mode: 0o755 });
  const fd = fs.openSync(fifo, fs.constants.O_RDWR | fs.constants.O_NONBLOCK);
  const reader = new net.Socket({ fd, readable: true, writable: false });
  let text = '';
  reader.on('data', (d: Buffer) => { text += d.toString(); });
  // --kill-child: should unshare die, its process 1 (and so the namespace) dies too
  const child = spawn('unshare', ['--pid', '--fork', '--kill-child', '--mount-proc', '--mount', path.join(dir, 'ns.sh'), dir, program, ...opts.args ?? []], {
    // $D: the test's directory
    env: { ...process.env, PATH: `${path.dirname(bin('runit'))}:${process.env.PATH}`, D: dir, ...opts.env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let err = '';
  child.stderr!.on('data', (d: Buffer) => { err += d.toString(); });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code, sig) => {
    // unshare ends itself by the signal that ended process 1: as a shell would say, 128 + its number
    resolve(code ?? (sig ? 128 + os.constants.signals[sig] : null));
  }));
  let pid1 = 0;
  let ns = '';
  let nsFd: number | null = null;
  const b: Boot = {
    dir, etc, exited,
    ns: () => ns,
    release: () => { if (nsFd !== null) fs.closeSync(nsFd); nsFd = null; },
    console: () => text,
    stderr: () => err,
    pid1: () => {
      if (!pid1) {
        try {
          const p = Number(fs.readFileSync(`/proc/${child.pid}/task/${child.pid}/children`, 'utf8').trim().split(/\s+/)[0]) || 0;
          if (p) { nsFd = fs.openSync(`/proc/${p}/ns/pid`, 'r'); ns = namespaceOf(p); pid1 = p; }
        } catch { /* not yet */ }
      }
      return pid1;
    },
  };
  // Learn process 1's pid and namespace early, to check for leftovers after its end.
  const look = setInterval(() => { if (b.pid1()) clearInterval(look); }, 10);
  void exited.then(() => { clearInterval(look); setTimeout(() => reader.destroy(), 500); });
  booted.push(b);
  return b;
}

/** Wait for process 1 to be there (its pid seen from here). */
export async function started(b: Boot): Promise<number> {
  await until('process 1 started', () => b.pid1() > 0);
  return b.pid1();
}

/** Wait for process 1's end; then nothing of its namespace may be left. Returns unshare's exit code. */
export async function ended(b: Boot): Promise<number | null> {
  const code = await b.exited;
  const ns = b.ns();
  try {
    if (ns) await until(`namespace ${ns} empty`, () => inNamespace(ns).length === 0);
  } finally {
    b.release();
  }
  return code;
}

/** Every pid of this machine in the PID namespace `ns` (its id, as /proc/PID/ns/pid names it). */
export function inNamespace(ns: string): number[] {
  const out: number[] = [];
  for (const e of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try { if (fs.readlinkSync(`/proc/${e}/ns/pid`) === ns) out.push(Number(e)); } catch { /* gone */ }
  }
  return out;
}

export function namespaceOf(pid: number): string {
  return fs.readlinkSync(`/proc/${pid}/ns/pid`);
}

/** The console once it says `text` (after process 1's end, its last words may still be on their way). */
export async function consoleSays(b: Boot, text: string): Promise<string> {
  await until(`console says ${JSON.stringify(text)}: ${JSON.stringify(b.console())}`, () => b.console().includes(text));
  return b.console();
}

/**
 * Kill process 1 of every namespace still up (its namespace dies with it) and
 * check that no process of any namespace a test started is left.
 */
export async function shutdownAll(): Promise<void> {
  const all = booted.splice(0);
  for (const b of all) kill1(b);
  let failed: unknown = null;
  for (const b of all) {
    try { await ended(b); } catch (e) { failed ??= e; }
  }
  if (failed) throw failed;
}

function kill1(b: Boot): void {
  const p = b.pid1();
  if (p) try { process.kill(p, 'SIGKILL'); } catch { /* gone */ }
}

// Whatever way a test file's process ends, no process 1 of its outlives it.
process.on('exit', () => { for (const b of booted) kill1(b); });

/** Normalize runit's boot line: the version differs. */
export function normalizeBoot(s: string): string {
  return s.replace(/^- runit: \$Id: [^$]*\$: booting\.$/m, '- runit: $Id: X $: booting.');
}
