// The manual pages: every docs/man/NAME.N.md (first line `# NAME(N) -- what
// it does`, ronn's format) becomes the roff page man/NAME.N, converted by
// marked-man. The pages are built before packing, so an install needs no build.
import fs from 'node:fs';
import path from 'node:path';
import { Marked } from 'marked';
import markedMan from 'marked-man';

const pkg = JSON.parse(fs.readFileSync(new URL('../package.json', import.meta.url), 'utf8'));

/** Convert every page in `from` into `to` (emptied first); returns the page names. */
export async function buildPages(from, to) {
  fs.rmSync(to, { recursive: true, force: true });
  fs.mkdirSync(to, { recursive: true });
  const pages = fs.readdirSync(from).filter((f) => /^[^.].*\.\d\.md$/.test(f)).sort();
  for (const f of pages) {
    const md = fs.readFileSync(path.join(from, f), 'utf8');
    const section = f.slice(0, -3).split('.').pop();
    const marked = new Marked({
      ...markedMan,
      // paragraphs are filled by man, not broken where the source wraps
      breaks: false,
      section,
      manVersion: `runit-ts ${pkg.version}`,
      manual: 'runit-ts',
      // the date a page was last changed would need git; SOURCE_DATE_EPOCH makes it reproducible
      date: process.env.SOURCE_DATE_EPOCH ? Number(process.env.SOURCE_DATE_EPOCH) * 1000 : Date.now(),
    });
    fs.writeFileSync(path.join(to, f.slice(0, -3)), await marked.parse(md));
  }
  return pages.map((f) => f.slice(0, -3));
}
