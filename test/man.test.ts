// The manual pages: each source in docs/man/ has the sections every page of
// ours has, and each built page renders with groff and man without a warning.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { root, tmpdir } from './helpers.js';

const sources = fs.readdirSync(path.join(root, 'docs/man')).filter((f) => f.endsWith('.md')).sort();
const noGroff = spawnSync('groff', ['--version']).status === 0 ? false : 'groff not installed (apt-get install groff-base)';
const noMan = spawnSync('man', ['--version']).status === 0 ? false : 'man not installed (apt-get install man-db)';

/** What groff -ww and man --warnings say about a page on standard error. */
function warnings(page: string): string {
  const g = spawnSync('groff', ['-ww', '-man', '-Tutf8', page], { encoding: 'utf8' });
  let out = g.stderr;
  if (!noMan) {
    const m = spawnSync('man', ['--warnings', '-l', page], { encoding: 'utf8', env: { ...process.env, MANWIDTH: '80', MANPAGER: 'cat', PAGER: 'cat' } });
    out += m.stderr;
  }
  return out;
}

describe('manual pages', () => {
  for (const f of sources) {
    test(`${f}: a ronn title line and our sections`, () => {
      const md = fs.readFileSync(path.join(root, 'docs/man', f), 'utf8');
      const [, name, section] = /^(.+)\.(\d)\.md$/.exec(f)!;
      assert.match(md.split('\n')[0]!, new RegExp(`^# ${name!.replace(/[-.]/g, '\\$&')}\\(${section}\\) -- \\S`));
      const heads = [...md.matchAll(/^## (.+)$/gm)].map((m) => m[1]);
      for (const h of ['SYNOPSIS', 'DESCRIPTION', 'EXIT STATUS', 'DIFFERENCES FROM RUNIT']) {
        assert.ok(heads.includes(h), `${f} has no ## ${h}`);
      }
    });

    test(`${f.slice(0, -3)} renders without a warning`, { skip: noGroff }, () => {
      const page = path.join(root, 'man', f.slice(0, -3));
      assert.equal(warnings(page), '');
      const text = spawnSync('groff', ['-man', '-Tutf8', page], { encoding: 'utf8' }).stdout.replace(/.\x08/g, '');
      assert.match(text, /^SYNOPSIS$/m);
    });
  }

  test('a page with a mistake is caught (the check above can fail)', { skip: noGroff }, () => {
    const bad = path.join(tmpdir('man-'), 'bad.8');
    fs.writeFileSync(bad, '.TH BAD 8\n.SH NAME\nbad \\- a page\n.XYZZY undefined macro\n');
    assert.match(warnings(bad), /warning/);
  });
});
