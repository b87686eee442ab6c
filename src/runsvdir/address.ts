// runsvdir -M's ADDRESS:PORT (`127.0.0.1:9100`, `[::1]:9100`); read by runsvdir
// (to refuse a bad one at once) and by the host's metrics server.
export function parseAddress(text: string): { host: string; port: number } | null {
  const m = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(text);
  if (!m) return null;
  const port = Number(m[3]);
  if (port < 1 || port > 65535) return null;
  return { host: (m[1] ?? m[2])!, port };
}
