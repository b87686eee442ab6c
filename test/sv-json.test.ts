// sv --json status / -j (issue 13): the document validated against
// docs/sv-status.schema.json, against our runsv and runit's, exit codes as sv status.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import * as status from '../src/supervise/status.js';
import { bin, noRef, ref, root, run, script, startSupervisor, stopAll, tmpdir, until } from './helpers.js';
import { validate } from './jsonschema.js';

after(stopAll);

const schema = JSON.parse(fs.readFileSync(path.join(root, 'docs/sv-status.schema.json'), 'utf8')) as Record<string, unknown>;
const sv = bin('sv');
const st = (dir: string): status.Status => status.read(path.join(dir, 'supervise'));

interface Doc { services: Record<string, any>[] }
function json(args: string[]): { doc: Doc; code: number | null } {
  const r = run(sv, args);
  const doc = JSON.parse(r.out) as Doc;
  assert.deepEqual(validate(schema, doc), [], 'valid against docs/sv-status.schema.json');
  return { doc, code: r.code };
}

function service(runBody: string, withLog: boolean): string {
  const dir = path.join(tmpdir(), 'svc');
  script(path.join(dir, 'run'), runBody);
  if (withLog) script(path.join(dir, 'log/run'), 'exec cat > /dev/null');
  return dir;
}

describe('the schema validator', () => {
  it('rejects what the schema does not allow', () => {
    assert.notDeepEqual(validate(schema, { services: [{ name: 'a' }] }), []);
    assert.notDeepEqual(validate(schema, { services: [], extra: 1 }), []);
    assert.deepEqual(validate(schema, { services: [{ name: 'a', dir: '/a', error: 'runsv not running' }] }), []);
    assert.throws(() => validate({ pattern: 'x' }, 'x'), /not supported/);
  });
});

describe('sv --json status', () => {
  it('our runsv: state, pid, readiness, record, and the log', async () => {
    const dir = service('echo >&5; exec sleep 1000', true);
    fs.writeFileSync(path.join(dir, 'notification-fd'), '5\n');
    fs.writeFileSync(path.join(dir, 'log/down'), '');
    startSupervisor(bin('runsv'), [dir]);
    await until('ready', () => fs.existsSync(path.join(dir, 'supervise/ready')));
    for (const flag of [['--json'], ['-j']]) {
      const { doc, code } = json([...flag, 'status', dir]);
      assert.equal(code, 0);
      const s = doc.services[0]!;
      assert.equal(s.name, dir);
      assert.equal(s.state, 'run');
      assert.equal(s.pid, st(dir).pid);
      assert.equal(s.want, 'up');
      assert.equal(s.normally, 'up');
      assert.equal(s.ready, true);
      assert.equal(typeof s.readySince, 'number');
      assert.equal(s.starts, 1);
      assert.equal(s.permanent, false);
      assert.equal(s.log.state, 'down');
      assert.equal(s.log.normally, 'down');
      assert.equal(s.log.ready, null, 'no notification-fd: readiness not known');
    }
  });

  it('exit codes and failures as sv status (runsv not running, no such directory)', async () => {
    const none = service('exec sleep 1000', false);
    const gone = service('exec sleep 1000', false);
    const s = startSupervisor(bin('runsv'), [gone]);
    await until('run', () => st(gone).state === status.STATE.run);
    process.kill(s.pid, 'SIGTERM');
    await s.exited;
    for (const names of [[none], [gone], [none, '/nonexistent/x', gone]]) {
      const text = run(sv, ['status', ...names]);
      const { doc, code } = json(['-j', 'status', ...names]);
      assert.equal(code, text.code);
      assert.equal(doc.services.length, names.length);
      // the error is sv status's line without its `warning: NAME: ` / `fail: NAME: `
      const lines = text.out.trim().split('\n');
      doc.services.forEach((e, i) => assert.equal(e.error, lines[i]!.replace(/^(fail|warning): [^:]*: /, '')));
    }
  });

  it('runit\'s runsv: what its files hold, null for the rest', { skip: noRef }, async () => {
    const dir = service('exec sleep 1000', true);
    startSupervisor(ref('runsv')!, [dir]);
    await until('run', () => st(dir).state === status.STATE.run && status.read(path.join(dir, 'log/supervise')).state === status.STATE.run);
    const { doc, code } = json(['--json', 'status', dir]);
    assert.equal(code, run(ref('sv')!, ['status', dir]).code);
    const s = doc.services[0]!;
    assert.equal(s.state, 'run');
    assert.equal(s.pid, st(dir).pid);
    for (const k of ['ready', 'starts', 'exitCode', 'exitSignal', 'exitedAt', 'permanent', 'nextStart']) assert.equal(s[k], null, k);
    assert.equal(s.log.state, 'run');
  });

  it('sv status\'s text is unchanged by the new files', async () => {
    const dir = service('echo >&5; exec sleep 1000', false);
    fs.writeFileSync(path.join(dir, 'notification-fd'), '5\n');
    startSupervisor(bin('runsv'), [dir]);
    await until('ready', () => fs.existsSync(path.join(dir, 'supervise/ready')));
    assert.match(run(sv, ['status', dir]).out, /^run: \S+: \(pid \d+\) \d+s\n$/);
    if (ref('sv')) assert.match(run(ref('sv')!, ['status', dir]).out, /^run: \S+: \(pid \d+\) \d+s\n$/);
  });
});
