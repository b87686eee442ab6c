// runsvdir -M ADDRESS:PORT (issue 13): Prometheus' text format at /metrics,
// node_exporter's runit collector's names and labels, checked by promtool.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { describe, it } from 'node:test';
import { collect } from '../src/runsvdir/metrics.js';
import { bin, noRef, ref, run, script, startSupervisor, stopAll, tmpdir, until } from './helpers.js';
import { cleanup, hosts, isRunning, runsvdir, tree } from './runsvdir-fixtures.js';

const noPromtool = spawnSync('promtool', ['--version']).status === 0 ? false : 'promtool not installed (apt-get install prometheus)';

// What node_exporter's (deprecated) runit collector exports: collector/runit.go,
// namespace "node", subsystem "service", variable label "service", constant label supervisor="runit".
const collectorFamilies = {
  node_service_state: 'State of runit service.',
  node_service_desired_state: 'Desired state of runit service.',
  node_service_normal_state: 'Normal state of runit service.',
  node_service_state_last_change_timestamp_seconds: 'Unix timestamp of the last runit service state change.',
};

/** A free TCP port on 127.0.0.1 (bound and released). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => { const p = (s.address() as net.AddressInfo).port; s.close(() => resolve(p)); });
  });
}

interface Sample { name: string; labels: Record<string, string>; value: number }
function parse(text: string): { samples: Sample[]; help: Record<string, string>; type: Record<string, string> } {
  const samples: Sample[] = [];
  const help: Record<string, string> = {};
  const type: Record<string, string> = {};
  for (const line of text.split('\n')) {
    let m = /^# HELP (\S+) (.*)$/.exec(line);
    if (m) { help[m[1]!] = m[2]!; continue; }
    m = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (m) { type[m[1]!] = m[2]!; continue; }
    m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!;
    samples.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return { samples, help, type };
}

const value = (samples: Sample[], name: string, service: string): number | undefined =>
  samples.find((s) => s.name === name && s.labels.service === service)?.value;

describe('runsvdir -M', () => {
  it('serves /metrics: the collector\'s families and labels, ours, process metrics; promtool passes', { timeout: 60000 }, async () => {
    const dir = tree(['up1', 'down1', 'crash']);
    fs.writeFileSync(path.join(dir, 'down1/down'), '');
    script(path.join(dir, 'crash/run'), 'exit 3');
    script(path.join(dir, 'up1/run'), 'echo >&5; exec sleep 1000');
    fs.writeFileSync(path.join(dir, 'up1/notification-fd'), '5\n');
    const port = await freePort();
    const d = runsvdir(bin('runsvdir'), ['-M', `127.0.0.1:${port}`, dir], dir);
    try {
      await until('up1 running and ready', () => isRunning(path.join(dir, 'up1')) && fs.existsSync(path.join(dir, 'up1/supervise/ready')));
      let text = '';
      await until('crash restarted once', () => {
        const r = spawnSync('curl', ['-sf', `http://127.0.0.1:${port}/metrics`], { encoding: 'utf8' });
        text = r.stdout ?? '';
        const { samples } = parse(text);
        return (value(samples, 'runit_service_starts_total', 'crash') ?? 0) >= 2;
      }, 30000);
      const { samples, help, type } = parse(text);
      for (const [name, h] of Object.entries(collectorFamilies)) {
        assert.equal(help[name], h, `${name}'s HELP as the collector's`);
        assert.equal(type[name], 'gauge');
        const mine = samples.filter((s) => s.name === name);
        assert.deepEqual(mine.map((s) => s.labels.service).sort(), ['crash', 'down1', 'up1']);
        for (const s of mine) assert.deepEqual(Object.keys(s.labels).sort(), ['service', 'supervisor'], name);
        for (const s of mine) assert.equal(s.labels.supervisor, 'runit');
      }
      assert.equal(value(samples, 'node_service_state', 'up1'), 1);
      assert.equal(value(samples, 'node_service_state', 'down1'), 0);
      assert.equal(value(samples, 'node_service_desired_state', 'up1'), 1);
      assert.equal(value(samples, 'node_service_desired_state', 'down1'), 0);
      assert.equal(value(samples, 'node_service_normal_state', 'down1'), 0);
      assert.equal(value(samples, 'node_service_normal_state', 'up1'), 1);
      const changed = value(samples, 'node_service_state_last_change_timestamp_seconds', 'up1')!;
      assert.ok(Number.isInteger(changed) && Math.abs(changed - Date.now() / 1000) < 600);
      assert.equal(value(samples, 'runit_service_ready', 'up1'), 1);
      assert.equal(value(samples, 'runit_service_ready', 'down1'), undefined, 'ready only for services that notify');
      assert.equal(value(samples, 'runit_service_last_exit_code', 'crash'), 3);
      assert.equal(value(samples, 'runit_service_permanent_failure', 'crash'), 0);
      assert.equal(type.runit_service_starts_total, 'counter');
      assert.ok(value(samples, 'runit_service_restarts_total', 'crash')! >= 1);
      for (const p of ['process_cpu_seconds_total', 'process_resident_memory_bytes', 'process_start_time_seconds', 'process_open_fds']) {
        assert.ok(samples.some((s) => s.name === p), p);
      }
      if (!noPromtool) {
        const r = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
        assert.equal(r.status, 0, `promtool check metrics: ${r.stdout}${r.stderr}`);
        assert.equal(r.stdout + r.stderr, '');
      }
      // read-only, and only /metrics
      const post = spawnSync('curl', ['-s', '-o', '/dev/null', '-w', '%{http_code}', '-X', 'POST', `http://127.0.0.1:${port}/metrics`], { encoding: 'utf8' });
      assert.equal(post.stdout, '405');
      const other = spawnSync('curl', ['-s', '-o', '/dev/null', '-w', '%{http_code}', `http://127.0.0.1:${port}/`], { encoding: 'utf8' });
      assert.equal(other.stdout, '404');
    } finally {
      await cleanup(d);
    }
  });

  it('without -M the host listens on nothing', async () => {
    const dir = tree(['a']);
    const d = runsvdir(bin('runsvdir'), [dir], dir);
    try {
      await until('a running', () => isRunning(path.join(dir, 'a')));
      const [host] = hosts(d);
      assert.ok(host, 'a host');
      // its sockets (the test's stderr is one) against the kernel's listening TCP sockets
      const inodes = fs.readdirSync(`/proc/${host}/fd`).map((f) => {
        try { return /^socket:\[(\d+)\]$/.exec(fs.readlinkSync(`/proc/${host}/fd/${f}`))?.[1]; } catch { return undefined; }
      }).filter((i): i is string => i !== undefined);
      const listening = new Set<string>();
      for (const t of ['/proc/net/tcp', '/proc/net/tcp6']) {
        let text = '';
        try { text = fs.readFileSync(t, 'latin1'); } catch { continue; }
        for (const line of text.split('\n').slice(1)) {
          const f = line.trim().split(/\s+/);
          if (f[3] === '0A') listening.add(f[9]!);
        }
      }
      assert.deepEqual(inodes.filter((i) => listening.has(i)), []);
    } finally {
      await cleanup(d);
    }
  });

  it('with -M the host listens (the check above can fail)', async () => {
    const dir = tree(['a']);
    const port = await freePort();
    const d = runsvdir(bin('runsvdir'), ['-M', `127.0.0.1:${port}`, dir], dir);
    try {
      await until('a running', () => isRunning(path.join(dir, 'a')));
      await until('listening', () => spawnSync('curl', ['-sf', `http://127.0.0.1:${port}/metrics`]).status === 0);
      const [host] = hosts(d);
      const inodes = fs.readdirSync(`/proc/${host}/fd`).map((f) => {
        try { return /^socket:\[(\d+)\]$/.exec(fs.readlinkSync(`/proc/${host}/fd/${f}`))?.[1]; } catch { return undefined; }
      });
      const tcp = fs.readFileSync('/proc/net/tcp', 'latin1').split('\n').slice(1).map((l) => l.trim().split(/\s+/))
        .filter((f) => f[3] === '0A' && f[1]!.endsWith(`:${port.toString(16).toUpperCase().padStart(4, '0')}`)).map((f) => f[9]);
      assert.ok(tcp.some((i) => inodes.includes(i)), 'the host holds the listening socket');
    } finally {
      await cleanup(d);
    }
  });

  it('a bad address is a usage error', () => {
    for (const bad of ['9100', 'localhost', 'host:99999', ':']) {
      const r = run(bin('runsvdir'), ['-M', bad, tmpdir()]);
      assert.equal(r.code, 1, bad);
      assert.equal(r.err, `runsvdir: fatal: not an address:port to serve metrics on: ${bad}\n`);
    }
    assert.equal(run(bin('runsvdir'), ['-M']).code, 1);
  });

  it('the metrics read runit\'s runsv files too (what node_exporter reads)', { skip: noRef }, async () => {
    const dir = path.join(tmpdir(), 'svc');
    script(path.join(dir, 'run'), 'exec sleep 1000');
    startSupervisor(ref('runsv')!, [dir]);
    try {
      await until('run', () => /^run/.test(run(ref('sv')!, ['status', dir]).out));
      const { samples } = parse(collect([{ name: 'svc', dir }]));
      assert.equal(value(samples, 'node_service_state', 'svc'), 1);
      assert.equal(value(samples, 'node_service_desired_state', 'svc'), 1);
      assert.equal(value(samples, 'runit_service_starts_total', 'svc'), undefined, 'runit keeps no record');
    } finally {
      await stopAll();
    }
  });
});
