// A log directory's `config` file (man svlogd, CONFIG): one setting a line,
// selected by its first character; empty lines, `#` comments and unknown
// letters are ignored. Numbers are read as runit reads them: the leading
// decimal digits, 0 if there are none.
export interface Inst { op: number; pat: Buffer } // op: + - e E

export interface Udp { host: string; port: number }

export interface Config {
  sizemax: number;
  nmax: number;
  nmin: number;
  tmax: number;
  processor: string;
  udp: Udp | null;
  udponly: boolean;
  prefix: Buffer;
  inst: Inst[];
}

export function defaults(): Config {
  return { sizemax: 1000000, nmax: 10, nmin: 10, tmax: 0, processor: '', udp: null, udponly: false, prefix: Buffer.alloc(0), inst: [] };
}

function scanUlong(s: string): number {
  const m = /^[0-9]*/.exec(s)![0];
  return m === '' ? 0 : Number(m);
}

/** `a.b.c.d[:port]`; null when it is not an IPv4 address. */
export function parseUdp(s: string): Udp | null {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})(?::(\d*))?/.exec(s);
  if (!m || m.slice(1, 5).some((x) => Number(x) > 255)) return null;
  const port = m[5] ? Number(m[5]) : 514;
  return { host: m.slice(1, 5).map(Number).join('.'), port: port || 514 };
}

/** Parse config text; `bad` is told about addresses that do not scan. */
export function parse(text: Buffer, bad: (line: string) => void = () => {}): Config {
  const c = defaults();
  let at = 0;
  while (at < text.length) {
    let nl = text.indexOf(10, at);
    if (nl < 0) nl = text.length;
    const line = text.subarray(at, nl);
    at = nl + 1;
    if (line.length === 0) continue;
    const rest = line.subarray(1);
    const arg = rest.toString('latin1');
    switch (line[0]) {
      case 0x2b: case 0x2d: case 0x65: case 0x45: // + - e E
        c.inst.push({ op: line[0]!, pat: Buffer.from(rest) });
        break;
      case 0x73: c.sizemax = scanUlong(arg); break; // s
      case 0x6e: c.nmax = scanUlong(arg); break; // n
      case 0x4e: c.nmin = scanUlong(arg); break; // N
      case 0x74: c.tmax = scanUlong(arg); break; // t
      case 0x21: c.processor = rest.toString(); break; // !
      case 0x70: c.prefix = Buffer.from(rest); break; // p
      case 0x55: case 0x75: { // U u
        const u = parseUdp(arg);
        if (u) {
          c.udp = u;
          c.udponly = line[0] === 0x55;
        } else bad(arg);
        break;
      }
      default: break;
    }
  }
  return c;
}
