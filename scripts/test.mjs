// Runs every compiled test file with Node's own test runner.
// Usage: node scripts/test.mjs [name-filter]
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const root = path.dirname(path.dirname(new URL(import.meta.url).pathname));
const dir = path.join(root, 'build/test');
const filter = process.argv[2] ?? '';
const files = fs.readdirSync(dir)
  .filter((f) => f.endsWith('.test.js') && f.includes(filter))
  .sort()
  .map((f) => path.join(dir, f));
const r = spawnSync(process.execPath, ['--test', '--test-concurrency=2', ...files], { stdio: 'inherit' });
process.exit(r.status ?? 1);
