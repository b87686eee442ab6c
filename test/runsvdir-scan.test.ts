// Reading the services directory (src/runsvdir/scan.ts): the 1000 limit, what
// counts as a service, and keeping what is already supervised.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { MAX_SERVICES, scan } from '../src/runsvdir/scan.js';
import { tmpdir } from './helpers.js';

describe('runsvdir scan', () => {
  it('takes at most 1000 services, keeps those it has, and warns for the rest', () => {
    const dir = tmpdir('runsvdir-scan-');
    for (let i = 0; i < MAX_SERVICES + 2; i++) fs.mkdirSync(path.join(dir, `s${i}`));
    const warnings: string[] = [];
    const first = scan(dir, new Map(), (t) => warnings.push(t))!;
    assert.equal(first.size, 1000);
    assert.equal(warnings.length, 2);
    assert.match(warnings[0]!, /^unable to start runsv s\d+: too many services\.$/);
    // Next time, the same thousand stay supervised.
    const again = scan(dir, first, () => {})!;
    assert.deepEqual([...again.keys()].sort(), [...first.keys()].sort());
    fs.rmSync(dir, { recursive: true });
  });

  it('counts directories and links to them once, skips dot names, files and broken links', () => {
    const dir = tmpdir('runsvdir-scan-');
    fs.mkdirSync(path.join(dir, 'a'));
    fs.mkdirSync(path.join(dir, '.dot'));
    fs.symlinkSync('a', path.join(dir, 'a-again'));
    fs.writeFileSync(path.join(dir, 'file'), '');
    fs.symlinkSync('nothere', path.join(dir, 'broken'));
    const warnings: string[] = [];
    const found = scan(dir, new Map(), (t, e) => warnings.push(`${t}: ${(e as NodeJS.ErrnoException).code}`))!;
    assert.equal(found.size, 1);
    assert.ok(['a', 'a-again'].includes([...found.values()][0]!));
    assert.deepEqual(warnings, ['unable to stat broken: ENOENT']);
    assert.equal(scan(path.join(dir, 'missing'), new Map(), () => {}), null, 'unreadable: no change');
    fs.rmSync(dir, { recursive: true });
  });
});
