// The environment chpst hands to the program, kept as bytes: it starts as the
// one chpst was given (/proc/self/environ, untouched by Node's UTF-8 decoding)
// and changes the way runit's (djb's) pathexec_env does, order included: the
// first entry of a name set or unset is dropped, the last entry moving into
// its place, and a new value goes at the end.
import fs from 'node:fs';

export class Environ {
  private readonly entries: Buffer[];

  constructor() {
    this.entries = initial();
  }

  /** Set `name` to `value`, or remove it when `value` is null. */
  set(name: string | Buffer, value: Buffer | string | null): void {
    const key = Buffer.concat([Buffer.from(name), Buffer.from('=')]);
    const i = this.entries.findIndex((e) => e.subarray(0, key.length).equals(key));
    if (i >= 0) this.entries[i] = this.entries[this.entries.length - 1]!, this.entries.pop();
    if (value !== null) this.entries.push(Buffer.concat([key, Buffer.from(value), Buffer.from([0])]));
  }

  /** NUL-terminated `name=value` entries for execve. */
  list(): Buffer[] {
    return this.entries;
  }
}

function initial(): Buffer[] {
  try {
    const raw = fs.readFileSync('/proc/self/environ');
    const out: Buffer[] = [];
    let start = 0;
    for (let i = 0; i < raw.length; i++) {
      if (raw[i] === 0) {
        out.push(raw.subarray(start, i + 1));
        start = i + 1;
      }
    }
    return out;
  } catch {
    // no /proc: Node's decoded copy will do
    return Object.entries(process.env).map(([k, v]) => Buffer.from(`${k}=${v ?? ''}\0`));
  }
}

/** The arguments after the program name, as bytes (from /proc/self/cmdline when it agrees). */
export function rawArgs(): Buffer[] {
  const n = process.argv.length - 2;
  try {
    const raw = fs.readFileSync('/proc/self/cmdline');
    const parts: Buffer[] = [];
    let start = 0;
    for (let i = 0; i < raw.length; i++) {
      if (raw[i] === 0) {
        parts.push(raw.subarray(start, i));
        start = i + 1;
      }
    }
    const tail = parts.slice(parts.length - n);
    // Node decodes the same bytes (invalid UTF-8 becomes U+FFFD), so they must agree
    if (tail.length === n && tail.every((b, i) => b.toString() === process.argv[i + 2])) return tail;
  } catch { /* no /proc */ }
  return process.argv.slice(2).map((a) => Buffer.from(a));
}
