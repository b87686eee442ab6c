// Build every program into bin/<name> (one bundled CommonJS file each, so a CLI
// loads nothing it does not use), and transpile src/ and test/ into build/ for
// the test runner. Usage: node scripts/build.mjs
import * as esbuild from 'esbuild';
import fs from 'node:fs';
import path from 'node:path';

const root = path.dirname(path.dirname(new URL(import.meta.url).pathname));
const bin = path.join(root, 'bin');
const entries = fs.readdirSync(path.join(root, 'src/bin')).filter((f) => f.endsWith('.ts'));

fs.mkdirSync(bin, { recursive: true });
// Extensionless files: tell Node they are CommonJS whatever the root package says.
fs.writeFileSync(path.join(bin, 'package.json'), '{ "type": "commonjs" }\n');

await Promise.all(entries.map((f) => esbuild.build({
  entryPoints: [path.join(root, 'src/bin', f)],
  outfile: path.join(bin, f.slice(0, -3)),
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  external: ['koffi'],
  banner: { js: '#!/usr/bin/env node' },
  // src/sys/koffi.ts reads import.meta.url only when __filename is missing (ESM)
  logOverride: { 'empty-import-meta': 'silent' },
  logLevel: 'warning',
})));
for (const f of entries) fs.chmodSync(path.join(bin, f.slice(0, -3)), 0o755);

// Programs that are other programs under another name (chpst's personalities,
// runit-init). A link is made only when its target has been built.
const aliases = {
  'runit-init': 'runit',
  envdir: 'chpst', envuidgid: 'chpst', pgrphack: 'chpst',
  setuidgid: 'chpst', softlimit: 'chpst', setlock: 'chpst',
};
for (const [name, target] of Object.entries(aliases)) {
  const link = path.join(bin, name);
  fs.rmSync(link, { force: true });
  if (fs.existsSync(path.join(bin, target))) fs.symlinkSync(target, link);
}

// src/ and test/ (and bench/) transpiled file by file into build/ for node --test.
function tsFiles(dir) {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.ts'))
    .map((f) => path.join(dir, f));
}
const sources = ['src', 'test', 'bench'].flatMap((d) => tsFiles(path.join(root, d)));
fs.rmSync(path.join(root, 'build'), { recursive: true, force: true });
await esbuild.build({
  entryPoints: sources,
  outdir: path.join(root, 'build'),
  outbase: root,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  logLevel: 'warning',
});
