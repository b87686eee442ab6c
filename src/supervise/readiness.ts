// Readiness (s6's notification-fd): ./run starts with the write end of a pipe
// at the descriptor named in ./notification-fd; it is ready when it writes a
// newline there. The supervisor then writes supervise/ready, holding the Unix
// time it became ready (seconds, with nanoseconds: `1764622800.123456789\n`).
// The file is removed before each start of ./run and when ./run ends: while it
// exists, the ./run now running is ready. Clients (sv start, sv check) watch
// supervise/ for it instead of polling. No koffi here: clients must start fast;
// the supervisor's end of the pipe is notifier.ts.
import fs from 'node:fs';

export const FILE = 'ready';

function stamp(): string {
  const ms = Date.now();
  return `${Math.floor(ms / 1000)}.${String((ms % 1000) * 1e6).padStart(9, '0')}\n`;
}

export function mark(superviseDir: string): void {
  const tmp = `${superviseDir}/${FILE}.new`;
  try {
    fs.writeFileSync(tmp, stamp(), { mode: 0o644 });
    fs.renameSync(tmp, `${superviseDir}/${FILE}`);
  } catch { /* the supervisor runs on without it */ }
}

export function clear(superviseDir: string): void {
  const file = `${superviseDir}/${FILE}`;
  // looked for first: most services never have one, and a failed unlink costs an exception
  if (fs.existsSync(file)) try { fs.unlinkSync(file); } catch { /* gone meanwhile */ }
}

/** When the running ./run became ready (Unix seconds), or null. */
export function since(superviseDir: string): number | null {
  try {
    const t = fs.readFileSync(`${superviseDir}/${FILE}`, 'latin1').trim();
    return /^\d+(\.\d+)?$/.test(t) ? Number(t) : null;
  } catch {
    return null;
  }
}

/** Does the service notify readiness (notification-fd, or notify-socket)? Read by clients; the supervisor reads servicedir.ts. */
export function notifies(serviceDir: string): boolean {
  try {
    if (/^\s*\d+\s*$/.test(fs.readFileSync(`${serviceDir}/notification-fd`, 'latin1'))) return true;
  } catch { /* not this way */ }
  return fs.existsSync(`${serviceDir}/notify-socket`);
}

/** Is readiness to be waited for: the service notifies, and its supervisor records it (ours writes supervise/record)? */
export function awaited(serviceDir: string): boolean {
  return notifies(serviceDir) && fs.existsSync(`${serviceDir}/supervise/record`);
}
