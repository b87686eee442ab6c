// What sv does to one service: find its directory, read its status, send it
// command bytes, wait for the effect, and say so in runit's words. sv's
// commands and svc's options both come here.
import fs from 'node:fs';
import path from 'node:path';
import { why } from '../sys/errors.js';
import * as tai from '../sys/tai64n.js';
import * as control from '../supervise/control.js';
import * as status from '../supervise/status.js';
import { normallyUp } from '../supervise/down.js';
import * as readiness from '../supervise/readiness.js';
import type { JsonReport, ProcessJson } from './json.js';
import { line } from './report.js';

/** Where bare service names are looked up: $SVDIR, else upstream runit's /service/. */
export function svdir(): string {
  return process.env['SVDIR'] || '/service/';
}

export class Sv {
  failures = 0;
  lsbStatus = 0;
  readonly start = tai.now();
  /** sv --json status: the document being built, else null. */
  json: JsonReport | null = null;
  /** The directory of the service being handled (for the JSON document's failures). */
  private cur = '';

  constructor(readonly lsb: boolean, readonly svdir: string) {}

  print(s: string): void {
    try { fs.writeSync(1, s + '\n'); } catch { /* stdout full or closed: as runit, nothing to do */ }
  }

  /** normallyUp, or null after the warning runit gives when `down` cannot be stat'ed. */
  normal(dir: string): boolean | null {
    const n = normallyUp(dir);
    if (typeof n === 'boolean') return n;
    try { fs.writeSync(2, `warning: unable to stat ${dir}/down: ${why(n)}\n`); } catch { /* no stderr */ }
    return null;
  }

  /** Where a service named on the command line lives (man sv). */
  dirOf(name: string): string {
    if (this.lsb || !(name.startsWith('.') || name.startsWith('/') || name.endsWith('/'))) {
      return path.join(this.svdir, name);
    }
    return name;
  }

  fail(name: string, text: string): void {
    if (this.json) this.json.failed(name, this.cur, text);
    else this.print(`fail: ${name}: ${text}`);
    this.failures++;
  }

  warn(name: string, text: string): void {
    this.print(`warning: ${name}: ${text}`);
    this.failures++;
  }

  /**
   * The status of the supervisor in `dir`: 'down' when no runsv holds ok,
   * null after printing a warning, else the record.
   */
  get(name: string, dir: string, quiet = false): status.Status | 'none' | null {
    const r = this.peek(name, dir);
    if (typeof r !== 'string') return r;
    if (r.startsWith('fail:')) return 'none';
    if (!quiet) { this.print(r); this.failures++; }
    this.lsbStatus = 4;
    return null;
  }

  /** The record in dir/supervise, or the `fail:` / `warning:` text saying why not. */
  peek(name: string, dir: string): status.Status | string {
    const sup = `${dir}/supervise`;
    try {
      if (!control.running(sup)) return `fail: ${name}: runsv not running`;
    } catch (e) {
      return `warning: ${name}: unable to open supervise/ok: ${why(e)}`;
    }
    try {
      return status.read(sup);
    } catch (e) {
      const what = (e as NodeJS.ErrnoException).code === 'EBADFORMAT' ? 'read' : 'open';
      return `warning: ${name}: unable to ${what} supervise/status: ${why(e)}`;
    }
  }

  chdirOk(name: string, dir: string): boolean {
    this.cur = dir;
    if (name === '') { this.fail(name, 'unable to change to service directory: file does not exist'); return false; }
    try {
      if (fs.statSync(dir).isDirectory()) return true;
      this.fail(name, 'unable to change to service directory: not a directory');
    } catch (e) {
      this.fail(name, `unable to change to service directory: ${why(e)}`);
    }
    return false;
  }

  showStatus(name: string, dir: string): void {
    const s = this.get(name, dir);
    if (s === null) return;
    if (s === 'none') { this.fail(name, 'runsv not running'); return; }
    const n = this.normal(dir);
    if (n === null) return;
    let t = line(name, s, n);
    let last = s; // LSB status goes by the last record read: the log's when there is one
    const log = `${dir}/log`;
    const logName = `${name}/log`;
    let st: fs.Stats | null = null;
    try { st = fs.statSync(log); } catch { /* no log */ }
    if (st && !st.isDirectory()) {
      t += `; warning: ${logName}: unable to change directory: not a directory`;
      this.failures++;
    } else if (st) {
      const r = this.peek(logName, log);
      const ln = this.normal(log);
      if (typeof r === 'string') { t += `; ${r}`; this.failures++; }
      else if (ln !== null) { t += '; ' + line('log', r, ln); last = r; }
    }
    if (this.lsb && !last.pid) this.lsbStatus = 3;
    this.print(t);
  }

  /** sv --json status: the service's entry in the document (failures counted as for status). */
  jsonStatus(name: string, dir: string, processJson: (dir: string, s: status.Status, up: boolean) => ProcessJson): void {
    const json = this.json!;
    const one = (n: string, d: string): ProcessJson | string => {
      const r = this.peek(n, d);
      if (typeof r === 'string') return r.replace(/^(fail|warning): [^:]*: /, '');
      const up = normallyUp(d);
      if (up instanceof Error) return `unable to stat down: ${why(up)}`;
      return processJson(d, r, up);
    };
    const own = one(name, dir);
    if (typeof own === 'string') { json.failed(name, dir, own); this.failures++; return; }
    let log: ProcessJson | { error: string } | null = null;
    let st: fs.Stats | null = null;
    try { st = fs.statSync(`${dir}/log`); } catch { /* no log */ }
    if (st) {
      const l = st.isDirectory() ? one(`${name}/log`, `${dir}/log`) : 'unable to change directory: not a directory';
      if (typeof l === 'string') { log = { error: l }; this.failures++; } else log = l;
    }
    json.ok(name, dir, own, log);
  }

  send(name: string, dir: string, acts: string): boolean {
    const s = this.get(name, dir);
    if (s === null) return false;
    if (s === 'none') {
      // exit (shutdown, force-shutdown) asks for no supervisor: none is success, as in runit
      if (acts === 'x') this.print(`ok: ${name}: runsv not running`);
      else this.fail(name, 'runsv not running');
      return false;
    }
    try {
      control.send(`${dir}/supervise`, acts);
    } catch (e) {
      this.warn(name, `unable to open supervise/control: ${why(e)}`);
      return false;
    }
    return true;
  }

  /** Is there a ./check to run? */
  hasCheck(dir: string): boolean {
    try {
      fs.accessSync(`${dir}/check`, fs.constants.X_OK);
      return true;
    } catch {
      return false;
    }
  }

  /** ./check, if there is one: exit 0 means the service is available. */
  checkScript(dir: string): boolean {
    if (!this.hasCheck(dir)) return true;
    // Loaded only here: child_process costs a few ms of start-up that status never needs.
    const { spawnSync } = process.getBuiltinModule('node:child_process');
    // runit runs ./check with its standard output closed: it must not mix into sv's
    const r = spawnSync('./check', [], { cwd: dir, stdio: ['ignore', 'ignore', 'inherit'] });
    return r.status === 0;
  }

  /** Has the service reached what `acts` asked for? (man sv, -v). Prints ok: when it has. */
  reached(name: string, dir: string, acts: string): boolean | 'gone' {
    const s = this.get(name, dir, true);
    if (s === null) return false;
    if (s === 'none') {
      if (acts === 'x') { this.print(`ok: ${name}: runsv not running`); return true; }
      return 'gone';
    }
    // A state change since sv started (runit compares whole seconds only, so it
    // can take a change from earlier in the same second for the one it asked for).
    const changed = s.when.sec > this.start.sec ||
      (s.when.sec === this.start.sec && s.when.nano >= this.start.nano);
    // with notification-fd, up means ready (supervise/ready), as a ./check passing does;
    // runit's runsv knows nothing of it (it writes no supervise/record): up is up there
    const up = (): boolean => s.want === 'u' && s.pid !== 0 && s.state === status.STATE.run &&
      (!readiness.awaited(dir) || readiness.since(`${dir}/supervise`) !== null) && this.checkScript(dir);
    const down = s.want === 'd' && s.pid === 0;
    let done: boolean;
    switch (acts) {
      case 'x': done = false; break;
      case 'u': done = up(); break;
      case 'd': done = down; break;
      case 'c': done = !(s.pid && s.paused); break;
      case 'p': done = !s.pid || s.paused; break;
      case 'o': done = s.want === 'd' && (s.pid !== 0 || changed); break;
      // term, kill, force-reload, try-restart: down if it is to stay down, else back up
      case 't': case 'k': case 'tc': done = down || (s.want === 'u' && changed && up()); break;
      case 'tcu': done = changed && up(); break;
      case 'C': done = s.want === 'u' ? up() : s.pid === 0; break;
      default: done = true; // hup, alarm, ...: sent is done
    }
    if (done) {
      const n = this.normal(dir);
      if (n !== null) this.print(`ok: ${line(name, s, n)}`);
    }
    return done;
  }

  /** The end of the wait: `timeout: ...`, or with force-* `kill: ...` and a k. */
  timedOut(name: string, dir: string, kill: boolean): void {
    this.failures++;
    const s = this.get(name, dir, true);
    if (kill) {
      try { control.send(`${dir}/supervise`, 'k'); } catch { /* reported below as it is */ }
    }
    if (s === null || s === 'none') {
      this.print(`${kill ? 'kill' : 'timeout'}: ${name}: runsv not running`);
      return;
    }
    const n = this.normal(dir);
    if (n !== null) this.print(`${kill ? 'kill' : 'timeout'}: ${line(name, s, n)}`);
  }
}
