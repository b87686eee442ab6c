// Giving memory back (src/memory/): the page-out of Node's code, later from an
// io_uring, and koffi's zero pages; each in a child Node process, whose own
// pages are what is measured.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { root } from './helpers.js';

const built = (m: string): string => JSON.stringify(path.join(root, 'build/src', m));

/** Run an ES module body in a fresh Node with pageout.js as P, zeropages.js as Z and libc.js as L. */
function node(body: string): { out: string; err: string; code: number | null } {
  const imports = `import * as P from ${built('memory/pageout.js')}; import * as Z from ${built('memory/zeropages.js')};
    import * as L from ${built('sys/libc.js')};`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', `${imports}\n${body}`], { encoding: 'utf8' });
  return { out: r.stdout, err: r.stderr, code: r.status };
}

/**
 * For a node() body (fs imported): rss(), the kB of the node binary's pages
 * this process has resident, and rings(), how many io_uring fds it holds.
 */
const PAGES = `
  const rss = () => {
    let kb = 0, inNode = false;
    for (const l of fs.readFileSync('/proc/self/smaps', 'utf8').split('\\n')) {
      if (/^[0-9a-f]+-[0-9a-f]+ /.test(l)) inNode = l.endsWith(process.execPath) || l.endsWith('/node');
      else if (inNode && l.startsWith('Rss:')) kb += Number(l.split(/\\s+/)[1]);
    }
    return kb;
  };
  const rings = () => fs.readdirSync('/proc/self/fd').filter((f) => {
    try { return fs.readlinkSync('/proc/self/fd/' + f).includes('io_uring'); } catch { return false; }
  }).length;`;

describe('memory.pageOutFiles', () => {
  it('lets go of the node binary\'s pages, and the process runs on unchanged', () => {
    const r = node(`
      import fs from 'node:fs';
      ${PAGES}
      const work = () => JSON.stringify([...Array(2000).keys()].map((i) => ({ i, s: String(i).padStart(8, '0') }))).length;
      const before = rss(), w1 = work();
      const n = P.pageOutFiles();
      const after = rss(), w2 = work();
      console.log(JSON.stringify({ n, before, after, same: w1 === w2, pipe: L.pipe().length }));`);
    assert.equal(r.code, 0, r.err);
    const o = JSON.parse(r.out) as { n: number; before: number; after: number; same: boolean; pipe: number };
    assert.ok(o.n > 0, 'some mappings advised');
    assert.ok(o.after < o.before / 2, `node's resident pages: ${o.before} kB before, ${o.after} kB after`);
    assert.equal(o.same, true);
    assert.equal(o.pipe, 2, 'koffi calls still work');
  });
});

describe('memory.pageOutFiles, later', () => {
  it('gives the advice from an io_uring once the process sleeps; the ring then closes itself, no process holds it', () => {
    const r = node(`
      import fs from 'node:fs';
      ${PAGES}
      const sleep = (ms) => new Promise((res) => setTimeout(res, ms));
      const workers = () => fs.readdirSync('/proc/self/task')
        .filter((t) => fs.readFileSync('/proc/self/task/' + t + '/comm', 'utf8').startsWith('iou-wrk')).length;
      const children = () => fs.readdirSync('/proc/self/task')
        .flatMap((t) => fs.readFileSync('/proc/self/task/' + t + '/children', 'utf8').trim().split(' ').filter(Boolean)).length;
      const before = rss();
      const n = P.pageOutFiles(2000);
      const right = rss(), ringsHere = rings(), kids = children();
      // the advice given, and the ring's worker thread seen, then gone
      let after = right, busy = 0, left = 0;
      for (const end = Date.now() + 20000; Date.now() < end && (after >= before / 2 || busy === 0 || left > 0);) {
        await sleep(100);
        after = rss();
        left = workers();
        busy = Math.max(busy, left);
      }
      console.log(JSON.stringify({ n, before, right, after, ringsHere, kids, busy, left }));`);
    assert.equal(r.code, 0, r.err);
    const o = JSON.parse(r.out) as Record<string, number>;
    assert.ok(o.n! > 0, 'some mappings advised');
    let disabled = '0';
    try { disabled = fs.readFileSync('/proc/sys/kernel/io_uring_disabled', 'utf8').trim(); } catch { /* older kernel: enabled */ }
    if (disabled !== '0') {
      // io_uring disabled here: the advice was given at once
      assert.ok(o.right! < o.before! / 2, `node's resident pages: ${o.before} kB before, ${o.right} kB after`);
      return;
    }
    assert.ok(o.right! > o.before! / 2, `nothing given back yet: ${o.before} kB before, ${o.right} kB right after`);
    assert.equal(o.ringsHere, 0, 'no ring fd left open here');
    assert.equal(o.kids, 0, 'no process started to hold it');
    assert.ok(o.after! < o.before! / 2, `given back later: ${o.before} kB before, ${o.after} kB after`);
    assert.ok(o.busy! > 0, 'the ring\'s worker thread ran the advice');
    assert.equal(o.left, 0, 'the ring\'s worker thread is gone once the ring has closed itself');
  });
});

describe('memory.dropKoffiZeroPages', () => {
  it('gives back the zero pages of koffi\'s static data, and every byte reads the same', () => {
    const r = node(`
      import fs from 'node:fs';
      const maps = fs.readFileSync('/proc/self/maps', 'utf8').split('\\n');
      const i = maps.findLastIndex((l) => l.endsWith('/koffi.node'));
      const [a, b] = maps[i + 1].split(' ')[0].split('-').map((x) => BigInt('0x' + x));
      const region = () => {
        const buf = Buffer.alloc(Number(b - a));
        const fd = fs.openSync('/proc/self/mem', 'r');
        fs.readSync(fd, buf, 0, buf.length, a);
        fs.closeSync(fd);
        return buf;
      };
      const rss = () => {
        const s = fs.readFileSync('/proc/self/smaps', 'utf8');
        const at = s.indexOf(a.toString(16) + '-');
        return Number(/\\nRss:\\s+(\\d+)/.exec(s.slice(at))[1]);
      };
      const before = region(), rssBefore = rss();
      const dropped = Z.dropKoffiZeroPages();
      const rssAfter = rss(), after = region();
      console.log(JSON.stringify({ dropped, rssBefore, rssAfter, same: before.equals(after),
        nonzero: before.some((x) => x !== 0), pipe: L.pipe().length }));`);
    assert.equal(r.code, 0, r.err);
    const o = JSON.parse(r.out) as Record<string, number | boolean>;
    assert.ok((o.dropped as number) >= 512 * 1024, `bytes given back: ${o.dropped}`);
    assert.ok((o.rssAfter as number) <= (o.rssBefore as number) - 512,
      `koffi's .bss resident: ${o.rssBefore} kB before, ${o.rssAfter} kB after`);
    assert.equal(o.nonzero, true, 'the region holds data besides zeros');
    assert.equal(o.same, true, 'every byte reads as before');
    assert.equal(o.pipe, 2, 'koffi calls still work');
  });
});
