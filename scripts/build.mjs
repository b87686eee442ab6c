// Build what the package ships, then what the tests run:
// - every program in src/bin/ into bin/<name>, and the internal programs in
//   src/libexec/ (the runsvdir host) into libexec/<name): one bundled CommonJS
//   file each, so a CLI loads nothing it does not use;
// - the Node API (src/api/index.ts) into lib/index.js (ESM) and lib/index.cjs,
//   with lib/index.d.ts (and .d.cts) from tsc;
// - the manual pages, docs/man/NAME.N.md into man/NAME.N (scripts/man.mjs);
// - src/, test/ and bench/ transpiled file by file into build/ for node --test.
// Usage: node scripts/build.mjs
import * as esbuild from 'esbuild';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { buildPages } from './man.mjs';
import { writeStandin } from './standin.mjs';
import { writeStart } from './start.mjs';

const root = path.dirname(path.dirname(new URL(import.meta.url).pathname));
const entriesOf = (dir) => fs.readdirSync(path.join(root, dir)).filter((f) => f.endsWith('.ts'));

// runsvdir runs Node with the host's flags (src/runsvdir/link.ts NODE_FLAGS),
// some of which V8 reads at start-up only. Its first two lines are a shell
// script and JavaScript at once: sh runs `node FLAGS` on the file (which
// skips the #! line and reads the second as a string and a comment), where a
// `#!/usr/bin/env node` start had to start Node a second time, some 30 ms
// more before the first service (`env -S` would do it in one line, but not
// BusyBox's env). Run as `node bin/runsvdir`, it still starts Node again itself.
const linkTs = fs.readFileSync(path.join(root, 'src/runsvdir/link.ts'), 'utf8');
const nodeFlags = [...(/export const NODE_FLAGS = \[([^\]]*)\]/.exec(linkTs)?.[1] ?? '').matchAll(/'(--[^']+)'/g)].map((m) => m[1]);
if (nodeFlags.length === 0) throw new Error('build: no NODE_FLAGS in src/runsvdir/link.ts');
// Where libexec/runsvdir-start is built (scripts/start.mjs), the script runs
// it instead (given any argument, on the machine it was built for: a package
// may be installed elsewhere), to start the host beside runsvdir's own Node
// (src/runsvdir/start.s). libexec/ is found beside bin/, through a symbolic
// link if need be. The shell's variables are named so as not to be a caller's
// (an exported one would reach every service changed); `read` is a builtin.
const flags = nodeFlags.join(' ');
const banners = {
  runsvdir: `#!/bin/sh\n':' //; __rsd_l=\${0%/*}/../libexec; [ -x "$__rsd_l/runsvdir-start" ] || { __rsd_l=$(readlink -f -- "$0" 2>/dev/null) && __rsd_l=\${__rsd_l%/*}/../libexec; }; `
    + `[ $# -gt 0 ] && [ -x "$__rsd_l/runsvdir-start" ] && read __rsd_a 2>/dev/null </proc/sys/kernel/arch && [ "$__rsd_a" = x86_64 ] && __rsd_n=$(command -v node) && `
    + `exec "$__rsd_l/runsvdir-start" "$__rsd_n" ${flags} "$__rsd_l/runsvdir-host" "$0" "$@"; exec node ${flags} "$0" "$@"`,
};

// esbuild's CommonJS interop wraps a builtin anew in every source file that
// imports it: each `__toESM(require("node:fs"), 1)` copies every property of
// fs into a fresh object of getters (27 times in the host: ~6 ms of its
// start-up). Such an object is only ever read (an import cannot be assigned
// to), and every one made from the same builtin is alike, so one per builtin
// serves every importer: each call goes through __toESMOnce, which makes it at
// the first import, when __toESM made the first, and hands it out after.
// Only that exact call is rewritten; anything else esbuild emits stays as is.
const INTEROP_CALL = /__toESM\(require\(("node:[a-z0-9_/]+")\), 1\)/g;
const INTEROP_ONCE = `
// One interop object per builtin, shared by every file that imports it (scripts/build.mjs).
var __interop = /* @__PURE__ */ new Map();
var __toESMOnce = (id) => {
  let m = __interop.get(id);
  if (m === void 0) __interop.set(id, m = __toESM(require(id), 1));
  return m;
};
`;
function shareInterop(js, file) {
  if (js.search(INTEROP_CALL) < 0) return js;
  // after esbuild's own definition of __toESM, which ends its runtime preamble's statement
  const def = js.indexOf('\nvar __toESM = ');
  const end = def < 0 ? -1 : js.indexOf('\n));\n', def);
  if (end < 0) throw new Error(`build: ${file}: esbuild's __toESM not where it was expected`);
  const at = end + '\n));\n'.length;
  return js.slice(0, at) + INTEROP_ONCE + js.slice(at).replace(INTEROP_CALL, '__toESMOnce($1)');
}

async function programs(src, out) {
  const dir = path.join(root, out);
  fs.rmSync(dir, { recursive: true, force: true }); // nothing left of a program gone from src/
  fs.mkdirSync(dir, { recursive: true });
  // Extensionless files: tell Node they are CommonJS whatever the root package says.
  fs.writeFileSync(path.join(dir, 'package.json'), '{ "type": "commonjs" }\n');
  const entries = entriesOf(src);
  await Promise.all(entries.map(async (f) => {
    const built = await esbuild.build({
      entryPoints: [path.join(root, src, f)],
      outfile: path.join(dir, f.slice(0, -3)),
      bundle: true,
      platform: 'node',
      target: 'node20',
      format: 'cjs',
      external: ['koffi'],
      banner: { js: banners[f.slice(0, -3)] ?? '#!/usr/bin/env node' },
      // src/sys/koffi.ts reads import.meta.url only when __filename is missing (ESM)
      logOverride: { 'empty-import-meta': 'silent' },
      logLevel: 'warning',
      write: false,
    });
    for (const o of built.outputFiles) fs.writeFileSync(o.path, shareInterop(o.text, o.path));
  }));
  for (const f of entries) fs.chmodSync(path.join(dir, f.slice(0, -3)), 0o755);
}

await Promise.all([programs('src/bin', 'bin'), programs('src/libexec', 'libexec')]);
// What stands for a logger the host runs itself (scripts/standin.mjs): named
// svlogd, so that ps, pidof and top call it so.
writeStandin(path.join(root, 'libexec/svlogd'));
writeStart(path.join(root, 'libexec/runsvdir-start'));

// Programs that are other programs under another name (chpst's personalities,
// runit-init). A link is made only when its target has been built. npm pack
// leaves symlinks out: package.json `bin` names the target for these.
const aliases = {
  'runit-init': 'runit',
  envdir: 'chpst', envuidgid: 'chpst', pgrphack: 'chpst',
  setuidgid: 'chpst', softlimit: 'chpst', setlock: 'chpst',
};
for (const [name, target] of Object.entries(aliases)) {
  const link = path.join(root, 'bin', name);
  fs.rmSync(link, { force: true });
  if (fs.existsSync(path.join(root, 'bin', target))) fs.symlinkSync(target, link);
}

// The API: one ESM and one CommonJS bundle of the same source, no dependency.
const lib = path.join(root, 'lib');
fs.rmSync(lib, { recursive: true, force: true });
await Promise.all([['esm', 'index.js'], ['cjs', 'index.cjs']].map(([format, file]) => esbuild.build({
  entryPoints: [path.join(root, 'src/api/index.ts')],
  outfile: path.join(lib, file),
  bundle: true,
  platform: 'node',
  target: 'node20',
  format,
  logLevel: 'warning',
})));
// Its declarations: src/api/index.ts declares every type it exports, so its
// .d.ts stands alone and serves both the import and the require condition.
const types = path.join(root, 'build/types');
fs.rmSync(types, { recursive: true, force: true });
const tsc = spawnSync(process.execPath, [path.join(root, 'node_modules/typescript/bin/tsc'), '-p', path.join(root, 'tsconfig.api.json')], { stdio: 'inherit' });
if (tsc.status !== 0) process.exit(tsc.status ?? 1);
const dts = fs.readFileSync(path.join(types, 'api/index.d.ts'), 'utf8');
if (/from '\.\.?\//.test(dts)) {
  console.error('build: lib/index.d.ts must not import other files (declare the exported types in src/api/index.ts)');
  process.exit(1);
}
fs.writeFileSync(path.join(lib, 'index.d.ts'), dts);
fs.writeFileSync(path.join(lib, 'index.d.cts'), dts);

await buildPages(path.join(root, 'docs/man'), path.join(root, 'man'));

// src/ and test/ (and bench/) transpiled file by file into build/ for node --test.
function tsFiles(dir) {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.ts'))
    .map((f) => path.join(dir, f));
}
const sources = ['src', 'test', 'bench'].flatMap((d) => tsFiles(path.join(root, d)));
for (const d of ['src', 'test', 'bench']) fs.rmSync(path.join(root, 'build', d), { recursive: true, force: true });
await esbuild.build({
  entryPoints: sources,
  outdir: path.join(root, 'build'),
  outbase: root,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  logLevel: 'warning',
});
