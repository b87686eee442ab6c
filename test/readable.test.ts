// Waiting for descriptors to become readable (src/sys/readable.ts): one epoll set, one worker.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { pipe } from '../src/sys/libc.js';
import { cancel, whenReadable } from '../src/sys/readable.js';
import { tmpdir, until } from './helpers.js';

describe('readable', () => {
  it('tells each of three hundred waits once, when its own pipe has data or is hung up', async () => {
    const pipes = Array.from({ length: 300 }, () => pipe());
    const told = new Array<number>(pipes.length).fill(0);
    pipes.forEach(([r], i) => whenReadable(r, () => { told[i]!++; }));
    // (nothing written yet: nobody is told)
    await new Promise((r) => setImmediate(r));
    assert.equal(told.reduce((a, b) => a + b, 0), 0);
    pipes.forEach(([, w], i) => { if (i % 2 === 0) fs.writeSync(w, 'x'); else fs.closeSync(w); });
    await until('every wait told', () => told.every((n) => n === 1));
    for (const [r, w] of pipes) { fs.closeSync(r); try { fs.closeSync(w); } catch { /* closed */ } }
    assert.ok(told.every((n) => n === 1), 'once each');
  });

  it('does not tell a cancelled wait, nor a new one on the same fd number of the old one\'s data', async () => {
    const [r, w] = pipe();
    let old = 0;
    whenReadable(r, () => { old++; });
    cancel(r);
    fs.writeSync(w, 'x');
    fs.closeSync(r);
    fs.closeSync(w);
    const [r2, w2] = pipe(); // the numbers are given again
    let fresh = 0;
    whenReadable(r2, () => { fresh++; });
    const [r3, w3] = pipe();
    let other = 0;
    whenReadable(r3, () => { other++; });
    fs.writeSync(w3, 'y');
    await until('the other pipe told', () => other === 1);
    assert.equal(old, 0, 'the cancelled wait');
    assert.equal(fresh, 0, 'the new pipe has nothing yet');
    fs.writeSync(w2, 'z');
    await until('the new pipe told', () => fresh === 1);
    for (const fd of [r2, w2, r3, w3]) fs.closeSync(fd);
  });

  it('takes a descriptor epoll does not wait on (a regular file) as readable at once', async () => {
    const file = path.join(tmpdir('readable-'), 'f');
    fs.writeFileSync(file, 'data');
    const fd = fs.openSync(file, 'r');
    let told = false;
    whenReadable(fd, () => { told = true; });
    await until('told', () => told);
    fs.closeSync(fd);
  });
});
