// TAI64N labels as runit writes them: 8 bytes of seconds (2^62 + 10 + Unix
// seconds, big-endian) and 4 bytes of nanoseconds (big-endian).
const OFFSET = (1n << 62n) + 10n;

export interface Tai64n { sec: bigint; nano: number }

/** Now, from the wall clock (millisecond precision; the clock may be set back). */
export function now(): Tai64n {
  const ms = Date.now();
  const sec = Math.floor(ms / 1000);
  return { sec: BigInt(sec) + OFFSET, nano: (ms - sec * 1000) * 1_000_000 };
}

export function fromUnix(unixSeconds: number, nano = 0): Tai64n {
  return { sec: BigInt(unixSeconds) + OFFSET, nano };
}

export function toUnix(t: Tai64n): number {
  return Number(t.sec - OFFSET) + t.nano / 1e9;
}

export function pack(t: Tai64n, buf: Buffer = Buffer.alloc(12), at = 0): Buffer {
  buf.writeBigUInt64BE(t.sec, at);
  buf.writeUInt32BE(t.nano, at + 8);
  return buf;
}

export function unpack(buf: Buffer, at = 0): Tai64n {
  return { sec: buf.readBigUInt64BE(at), nano: buf.readUInt32BE(at + 8) };
}

/** `@` + 24 lowercase hex digits, as svlogd and tai64n print it. */
export function format(t: Tai64n): string {
  return '@' + pack(t).toString('hex');
}
