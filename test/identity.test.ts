// Acting as another user on the main thread only (src/sys/identity.ts).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { asUser, CannotAct, idsOf } from '../src/sys/identity.js';
import { dumpable } from '../src/sys/libc.js';
import { tmpdir } from './helpers.js';

const nobody = { uid: 65534, gid: 65534, groups: [65534] };
const skip = process.getuid?.() === 0 ? false : 'needs root';

/** Uid lines of every thread of this process but the main one. */
function otherThreads(): string[] {
  return fs.readdirSync('/proc/self/task').filter((t) => Number(t) !== process.pid)
    .map((t) => /^Uid:(.*)$/m.exec(fs.readFileSync(`/proc/self/task/${t}/status`, 'latin1'))![1]!.trim().replace(/\s+/g, ' '));
}

describe('asUser', { skip }, () => {
  it('checks and owns files as the user, with none of root\'s privileges, then is root again', () => {
    const base = tmpdir('identity-');
    fs.chmodSync(base, 0o755);
    const closed = path.join(base, 'closed');
    const mine = path.join(base, 'mine');
    fs.mkdirSync(closed, { mode: 0o700 });
    fs.mkdirSync(mine);
    fs.chownSync(mine, nobody.uid, nobody.gid);
    assert.throws(() => asUser(nobody, () => fs.writeFileSync(path.join(closed, 'x'), 'x')), { code: 'EACCES' }, 'root\'s 0700 directory refused');
    assert.throws(() => asUser(nobody, () => fs.readdirSync(closed)), { code: 'EACCES' });
    asUser(nobody, () => fs.writeFileSync(path.join(mine, 'x'), 'x'));
    const st = fs.statSync(path.join(mine, 'x'));
    assert.deepEqual([st.uid, st.gid], [nobody.uid, nobody.gid], 'created as the user');
    assert.throws(() => asUser(nobody, () => fs.chownSync(path.join(mine, 'x'), 0, 0)), { code: 'EPERM' }, 'no CAP_CHOWN');
    fs.writeFileSync(path.join(closed, 'y'), 'y'); // root again
    assert.deepEqual(idsOf('thread-self').uid, [0, 0, 0, 0]);
    assert.equal(dumpable(), true, 'dumpable again');
  });

  it('changes the main thread only, and is root again when the step throws', () => {
    const inside = asUser(nobody, () => ({ me: idsOf('thread-self'), others: otherThreads() }));
    assert.deepEqual(inside.me.uid, [65534, 65534, 0, 65534], 'real, effective and fs uid the user\'s; saved 0');
    assert.deepEqual(inside.me.gid, [65534, 65534, 65534, 65534]);
    assert.deepEqual(inside.me.groups, [65534]);
    assert.ok(inside.others.length > 0 && inside.others.every((u) => u === '0 0 0 0'), `every other thread root: ${inside.others.join(', ')}`);
    assert.throws(() => asUser(nobody, () => { throw new Error('boom'); }), /boom/);
    assert.deepEqual(idsOf('thread-self').uid, [0, 0, 0, 0]);
    assert.deepEqual(asUser(nobody, () => asUser(nobody, () => idsOf('thread-self').uid[1])), 65534, 'nested for the same user');
    assert.throws(() => asUser(nobody, () => asUser({ ...nobody, uid: 1 }, () => 0)), CannotAct, 'not for another user meanwhile');
    assert.deepEqual(idsOf('thread-self').uid, [0, 0, 0, 0]);
  });
});
