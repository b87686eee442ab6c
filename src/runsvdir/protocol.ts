// What runsvdir tells its supervision host, one JSON object a line on the
// host's fd 3: supervise a directory, stop supervising one, stop them all.
// A service is known by the device and inode of its directory, as runsvdir
// knows its runsv processes; a rename keeps it, a new directory is new.

export type Message =
  | { add: string; name: string; path: string } // key, name in DIR, path to it
  | { del: string } // key
  | { hup: true };

export function encode(m: Message): string {
  return JSON.stringify(m) + '\n';
}

/** Splits a byte stream into messages; malformed lines are dropped. */
export class Lines {
  private rest = '';

  push(chunk: Buffer | string): Message[] {
    const text = this.rest + chunk.toString();
    const lines = text.split('\n');
    this.rest = lines.pop()!;
    const out: Message[] = [];
    for (const line of lines) {
      try {
        out.push(JSON.parse(line) as Message);
      } catch { /* not ours */ }
    }
    return out;
  }
}
