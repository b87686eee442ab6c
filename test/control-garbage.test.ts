// Bytes in supervise/control that are no command cost a read and nothing
// else (no rewrite of pid, stat and status per byte, as runsv); a command
// after them is handled, and a burst of real commands is handled in one pass.
// Under runsv and in the runsvdir host alike (the same engine).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import * as status from '../src/supervise/status.js';
import { alive, bin, reap, script, startSupervisor, stopAll, stopSupervisor, tmpdir, until } from './helpers.js';
import { cleanup, cleanupAll, runsvdir, tree } from './runsvdir-fixtures.js';

after(async () => { await stopAll(); await cleanupAll(); });

const COMMANDS = new Set([...'udoxtpchaiq12k'].map((c) => c.charCodeAt(0)));
const st = (dir: string): status.Status => status.read(path.join(dir, 'supervise'));

/** `n` bytes, none of them a runsv command (every other byte value, in turn). */
function garbage(n: number): Buffer {
  const values = Array.from({ length: 256 }, (_, i) => i).filter((b) => !COMMANDS.has(b));
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = values[i % values.length]!;
  return b;
}

/** Count the renames onto supervise/status (inotify), until stopped. */
function countWrites(dir: string): { count: () => number; stop: () => void } {
  let n = 0;
  const w = fs.watch(path.join(dir, 'supervise'), (event, name) => {
    if (event === 'rename' && name === 'status') n++;
  });
  return { count: () => n, stop: () => w.close() };
}

/**
 * Write a file's bytes, then `then`, into the control FIFO from a shell, as a
 * user would. `stop` ends the shell and its cat (by process group), written or not.
 */
function feed(dir: string, bytes: Buffer, then: string): { written: () => boolean; stop: () => void } {
  const file = path.join(path.dirname(dir), 'bytes');
  fs.writeFileSync(file, bytes);
  const ctl = path.join(dir, 'supervise/control');
  const sh = spawn('/bin/sh', ['-c', `cat "$1" > "$2" && printf %s "$3" > "$2"`, 'sh', file, ctl, then], { stdio: 'ignore', detached: true });
  let code: number | null = null;
  sh.on('exit', (c) => { code = c; });
  return {
    written: () => code === 0,
    stop: () => { try { process.kill(-sh.pid!, 'SIGKILL'); } catch { /* gone */ } },
  };
}

/** One service run by runsv, or by runsvdir's host: its directory and a way to end it all. */
async function supervised(how: 'runsv' | 'runsvdir'): Promise<{ dir: string; end: () => Promise<void> }> {
  if (how === 'runsv') {
    const dir = path.join(tmpdir(), 'svc');
    script(path.join(dir, 'run'), 'exec sleep 1000');
    const s = startSupervisor(bin('runsv'), [dir]);
    await until('run', () => st(dir).state === status.STATE.run && alive(st(dir).pid));
    const pid = st(dir).pid;
    return { dir, end: async () => { await stopSupervisor(s); reap([pid]); } };
  }
  const base = tree(['a']);
  const d = runsvdir(bin('runsvdir'), [base], base);
  const dir = path.join(base, 'a');
  await until('run', () => st(dir).state === status.STATE.run && alive(st(dir).pid));
  return { dir, end: () => cleanup(d) };
}

for (const how of ['runsv', 'runsvdir'] as const) {
  describe(`supervise/control under ${how}`, () => {
    it('takes 1 MiB of bytes that are no command without rewriting status, then d', async () => {
      const { dir, end } = await supervised(how);
      const pid = st(dir).pid;
      const writes = countWrites(dir);
      const writer = feed(dir, garbage(1 << 20), 'd');
      try {
        await until('the service is down', () => st(dir).state === status.STATE.down && st(dir).want === 'd', 60000);
        assert.ok(writer.written(), 'the shell wrote it all');
        assert.ok(!alive(pid), './run was stopped');
        // d: one write for the command, one for ./run's end (a few more at most)
        assert.ok(writes.count() <= 6, `status written ${writes.count()} times`);
      } finally {
        writes.stop();
        writer.stop();
        await end();
      }
    });

    it('handles a burst of real commands in one pass', async () => {
      const { dir, end } = await supervised(how);
      const writes = countWrites(dir);
      // 20,000 pause/continue commands in one write, then d
      const writer = feed(dir, Buffer.from('pc'.repeat(10000)), 'd');
      try {
        await until('the service is down', () => st(dir).state === status.STATE.down && st(dir).want === 'd', 60000);
        assert.ok(!st(dir).paused, 'the last of them was c');
        assert.ok(writes.count() < 100, `status written ${writes.count()} times for 20,001 commands`);
      } finally {
        writes.stop();
        writer.stop();
        await end();
      }
    });
  });
}
