// sv --json status (-j): one JSON document for every service named, following
// docs/sv-status.schema.json. What runit's runsv does not record (readiness,
// starts, exits, backoff) is null for a service it supervises.
import fs from 'node:fs';
import path from 'node:path';
import * as tai from '../sys/tai64n.js';
import * as readiness from '../supervise/readiness.js';
import * as record from '../supervise/record.js';
import { type Status, stateWord } from '../supervise/status.js';

export interface ProcessJson {
  state: string;
  pid: number | null;
  since: number;
  want: 'up' | 'down';
  normally: 'up' | 'down';
  paused: boolean;
  gotTerm: boolean;
  ready: boolean | null;
  readySince: number | null;
  starts: number | null;
  startedAt: number | null;
  exitCode: number | null;
  exitSignal: number | null;
  exitedAt: number | null;
  permanent: boolean | null;
  nextStart: number | null;
}

export function processJson(dir: string, s: Status, normallyUp: boolean): ProcessJson {
  const sup = path.join(dir, 'supervise');
  const rec = record.read(sup);
  const notifies = readiness.notifies(dir);
  const readySince = notifies && s.pid ? readiness.since(sup) : null;
  return {
    state: stateWord(s.state),
    pid: s.pid || null,
    since: Math.floor(tai.toUnix(s.when)),
    want: s.want === 'u' ? 'up' : 'down',
    normally: normallyUp ? 'up' : 'down',
    paused: s.paused,
    gotTerm: s.term,
    ready: notifies && rec ? readySince !== null : null,
    readySince,
    starts: rec ? rec.starts : null,
    startedAt: rec ? rec.startedAt : null,
    exitCode: rec ? rec.exitCode : null,
    exitSignal: rec ? rec.exitSignal : null,
    exitedAt: rec ? rec.exitedAt : null,
    permanent: rec ? rec.permanent : null,
    nextStart: rec ? rec.nextStart : null,
  };
}

/** The document, written once at the end so that it is whole. */
export class JsonReport {
  private readonly services: object[] = [];

  ok(name: string, dir: string, own: ProcessJson, log: ProcessJson | { error: string } | null): void {
    this.services.push({ name, dir: path.resolve(dir), ...own, log });
  }

  failed(name: string, dir: string, error: string): void {
    this.services.push({ name, dir: path.resolve(dir), error });
  }

  print(): void {
    try { fs.writeSync(1, JSON.stringify({ services: this.services }, null, 2) + '\n'); } catch { /* stdout gone */ }
  }
}
