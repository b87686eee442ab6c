// runsvdir -M ADDRESS:PORT: the supervision host serves Prometheus' text
// format at /metrics (read-only: GET and HEAD, nothing else). Loaded only
// with -M. Per service, from its supervise/ files (as any client reads them):
// - node_exporter's runit collector, same names and labels, so dashboards
//   written for it keep working: node_service_state (0 down, 1 run, 2 finish),
//   node_service_desired_state (1 up, 0 down), node_service_normal_state
//   (1 without ./down), node_service_state_last_change_timestamp_seconds, each
//   {service="NAME", supervisor="runit"};
// - ours, {service="NAME"}: runit_service_starts_total,
//   runit_service_restarts_total, runit_service_last_exit_code,
//   runit_service_last_exit_signal, runit_service_last_exit_timestamp_seconds,
//   runit_service_ready (services that notify), runit_service_permanent_failure,
//   runit_service_next_start_timestamp_seconds (while a start is due);
// - the host's own process_* metrics (Prometheus' client conventions).
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { normallyUp } from '../supervise/down.js';
import * as readiness from '../supervise/readiness.js';
import * as record from '../supervise/record.js';
import * as status from '../supervise/status.js';
import * as tai from '../sys/tai64n.js';
import { parseAddress } from './address.js';
import { type Family, type Labels, render } from './exposition.js';

export interface Supervised { name: string; dir: string }

function gauge(name: string, help: string): Family { return { name, help, type: 'gauge', samples: [] }; }
function counter(name: string, help: string): Family { return { name, help, type: 'counter', samples: [] }; }

const started = Date.now() / 1000 - process.uptime();

function processFamilies(): Family[] {
  const cpu = process.cpuUsage();
  const fams: Family[] = [];
  const one = (f: Family, v: number): void => { f.samples.push({ labels: {}, value: v }); fams.push(f); };
  one(counter('process_cpu_seconds_total', 'Total user and system CPU time spent in seconds.'), (cpu.user + cpu.system) / 1e6);
  one(gauge('process_resident_memory_bytes', 'Resident memory size in bytes.'), process.memoryUsage.rss());
  try {
    const stat = fs.readFileSync('/proc/self/stat', 'latin1');
    const vsize = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[20]);
    if (Number.isFinite(vsize)) one(gauge('process_virtual_memory_bytes', 'Virtual memory size in bytes.'), vsize);
  } catch { /* no /proc */ }
  one(gauge('process_start_time_seconds', 'Start time of the process since unix epoch in seconds.'), Math.round(started * 1000) / 1000);
  try { one(gauge('process_open_fds', 'Number of open file descriptors.'), fs.readdirSync('/proc/self/fd').length); } catch { /* no /proc */ }
  try {
    const m = /^Max open files\s+(\d+)/m.exec(fs.readFileSync('/proc/self/limits', 'latin1'));
    if (m) one(gauge('process_max_fds', 'Maximum number of open file descriptors.'), Number(m[1]));
  } catch { /* no /proc */ }
  return fams;
}

/** The whole exposition for these services. */
export function collect(services: Supervised[]): string {
  const state = gauge('node_service_state', 'State of runit service.');
  const desired = gauge('node_service_desired_state', 'Desired state of runit service.');
  const normal = gauge('node_service_normal_state', 'Normal state of runit service.');
  const changed = gauge('node_service_state_last_change_timestamp_seconds', 'Unix timestamp of the last runit service state change.');
  const starts = counter('runit_service_starts_total', 'Starts of ./run since its supervisor started.');
  const restarts = counter('runit_service_restarts_total', 'Starts of ./run after the first since its supervisor started.');
  const exitCode = gauge('runit_service_last_exit_code', 'Exit code of the last ./run that exited.');
  const exitSignal = gauge('runit_service_last_exit_signal', 'Signal that killed the last ./run that was killed.');
  const exitedAt = gauge('runit_service_last_exit_timestamp_seconds', 'Unix timestamp of the last end of ./run.');
  const ready = gauge('runit_service_ready', 'Whether ./run said it is ready (services with notification-fd or notify-socket).');
  const permanent = gauge('runit_service_permanent_failure', 'Whether ./finish exited 125 (not restarted until told up).');
  const next = gauge('runit_service_next_start_timestamp_seconds', 'Unix timestamp at which the next start of ./run is due.');
  for (const svc of [...services].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    const sup = path.join(svc.dir, 'supervise');
    let s: status.Status;
    try { s = status.read(sup); } catch { continue; } // as the collector: a service without status is left out
    const up = normallyUp(svc.dir);
    const runit: Labels = { service: svc.name, supervisor: 'runit' };
    const ours: Labels = { service: svc.name };
    state.samples.push({ labels: runit, value: s.state });
    desired.samples.push({ labels: runit, value: s.want === 'u' ? 1 : 0 });
    normal.samples.push({ labels: runit, value: up === true ? 1 : 0 });
    changed.samples.push({ labels: runit, value: Number(tai.toUnix(s.when).toFixed(0)) });
    const r = record.read(sup);
    if (r) {
      starts.samples.push({ labels: ours, value: r.starts });
      restarts.samples.push({ labels: ours, value: Math.max(0, r.starts - 1) });
      if (r.exitCode !== null) exitCode.samples.push({ labels: ours, value: r.exitCode });
      if (r.exitSignal !== null) exitSignal.samples.push({ labels: ours, value: r.exitSignal });
      if (r.exitedAt !== null) exitedAt.samples.push({ labels: ours, value: r.exitedAt });
      permanent.samples.push({ labels: ours, value: r.permanent ? 1 : 0 });
      if (r.nextStart !== null) next.samples.push({ labels: ours, value: r.nextStart });
    }
    if (readiness.notifies(svc.dir)) ready.samples.push({ labels: ours, value: s.pid && readiness.since(sup) !== null ? 1 : 0 });
  }
  return render([state, desired, normal, changed, starts, restarts, exitCode, exitSignal, exitedAt, ready, permanent, next, ...processFamilies()]);
}

/** Serve /metrics on `address` until the process ends; `warn` on trouble (the host goes on without). */
export function serve(address: string, services: () => Supervised[], warn: (text: string, err?: unknown) => void): void {
  const a = parseAddress(address);
  if (!a) { warn(`not an address to listen on: ${address}`); return; }
  const server = http.createServer((req, res) => {
    const url = (req.url ?? '').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { Allow: 'GET, HEAD', 'Content-Type': 'text/plain' }).end('read-only\n');
      return;
    }
    if (url !== '/metrics') {
      res.writeHead(404, { 'Content-Type': 'text/plain' }).end('see /metrics\n');
      return;
    }
    let body: string;
    try {
      body = collect(services());
    } catch (e) {
      res.writeHead(500, { 'Content-Type': 'text/plain' }).end('unable to collect\n');
      warn('unable to collect metrics', e);
      return;
    }
    res.writeHead(200, { 'Content-Type': 'text/plain; version=0.0.4; charset=utf-8' });
    res.end(req.method === 'HEAD' ? undefined : body);
  });
  server.on('error', (e) => warn(`unable to listen on ${address}`, e));
  // not a reason to stay alive: the host exits once it supervises nothing
  server.listen(a.port, a.host, () => server.unref());
}
