// Prometheus' text exposition format (version 0.0.4): families of samples,
// each with its HELP and TYPE lines, label values escaped.
export type Labels = Record<string, string>;

export interface Family {
  name: string;
  help: string;
  type: 'gauge' | 'counter';
  samples: { labels: Labels; value: number }[];
}

const escapeLabel = (v: string): string => v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
const escapeHelp = (v: string): string => v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');

function value(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

export function render(families: Family[]): string {
  let out = '';
  for (const f of families) {
    if (!f.samples.length) continue;
    out += `# HELP ${f.name} ${escapeHelp(f.help)}\n# TYPE ${f.name} ${f.type}\n`;
    for (const s of f.samples) {
      const ls = Object.entries(s.labels).map(([k, v]) => `${k}="${escapeLabel(v)}"`).join(',');
      out += `${f.name}${ls ? `{${ls}}` : ''} ${value(s.value)}\n`;
    }
  }
  return out;
}
