#!/usr/bin/env node
// bench/sv-latency: how long `sv status` takes, ours against `node -e 0` and
// against runit's sv, all on the same service supervised by our runsv; and how
// soon `sv restart` reports a service that is back at once.
// Usage: node bench/sv-latency.mjs [runs]   (default 40)
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const root = path.dirname(path.dirname(new URL(import.meta.url).pathname));
const runs = Number(process.argv[2] ?? 40);
const refSv = ['/usr/bin/sv', '/usr/sbin/sv'].find((p) => fs.existsSync(p));

const base = fs.mkdtempSync(path.join(os.tmpdir(), 'sv-latency-'));
const dir = path.join(base, 'svc');
fs.mkdirSync(dir);
fs.writeFileSync(path.join(dir, 'run'), '#!/bin/sh\nexec sleep 100000\n', { mode: 0o755 });
const runsv = spawn(path.join(root, 'bin/runsv'), [dir], { stdio: 'ignore' });
while (!fs.existsSync(path.join(dir, 'supervise/pid')) || fs.readFileSync(path.join(dir, 'supervise/pid'), 'utf8') === '') {
  spawnSync('sleep', ['0.05']);
}

function median(cmd, args, n = runs) {
  const t = [];
  for (let i = 0; i < n; i++) {
    const s = process.hrtime.bigint();
    const r = spawnSync(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    t.push(Number(process.hrtime.bigint() - s) / 1e6);
    if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  }
  t.sort((a, b) => a - b);
  return t[Math.floor(t.length / 2)];
}

const rows = [];
const nodeBase = median(process.execPath, ['-e', '0']);
rows.push(['node -e 0', nodeBase]);
const ours = median(path.join(root, 'bin/sv'), ['status', dir]);
rows.push(['bin/sv status DIR', ours]);
if (refSv) rows.push([`${refSv} status DIR (runit)`, median(refSv, ['status', dir])]);

// restart: the service is back within milliseconds; how soon does sv say so?
const restartRuns = Math.max(5, Math.floor(runs / 4));
const restart = (sv) => {
  spawnSync('sleep', ['1.1']); // past runsv's one-second restart guard
  return median(sv, ['-w', '7', 'restart', dir], 1);
};
const rOurs = []; const rRef = [];
for (let i = 0; i < restartRuns; i++) {
  rOurs.push(restart(path.join(root, 'bin/sv')));
  if (refSv) rRef.push(restart(refSv));
}
const med = (a) => a.sort((x, y) => x - y)[Math.floor(a.length / 2)];
rows.push(['bin/sv -w 7 restart DIR', med(rOurs)]);
if (refSv) rows.push([`${refSv} -w 7 restart DIR (runit)`, med(rRef)]);

runsv.kill('SIGTERM');
await new Promise((r) => runsv.on('exit', r));
fs.rmSync(base, { recursive: true, force: true });

console.log(`| command | median wall time (ms) |`);
console.log(`|---|---|`);
for (const [name, ms] of rows) console.log(`| \`${name}\` | ${ms.toFixed(1)} |`);
console.log(`\nours on top of node -e 0: ${(ours - nodeBase).toFixed(1)} ms (${runs} runs each; restart: ${restartRuns} runs each)`);
