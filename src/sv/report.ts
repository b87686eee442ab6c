// How sv words a service's state: `run: NAME: (pid 123) 45s, normally down, ...`.
import * as tai from '../sys/tai64n.js';
import { type Status, stateWord } from '../supervise/status.js';

/** Seconds since the last state change, never negative. */
function age(s: Status): number {
  const secs = tai.now().sec - s.when.sec;
  return secs > 0n ? Number(secs) : 0;
}

export function line(name: string, s: Status, normallyUpFlag: boolean): string {
  let t = `${stateWord(s.state)}: ${name}: `;
  if (s.state) t += `(pid ${s.pid}) `; // runit goes by the state byte here, by the pid below
  t += `${age(s)}s`;
  if (s.pid && !normallyUpFlag) t += ', normally down';
  if (!s.pid && normallyUpFlag) t += ', normally up';
  if (s.pid && s.paused) t += ', paused';
  if (!s.pid && s.want === 'u') t += ', want up';
  if (s.pid && s.want === 'd') t += ', want down';
  if (s.pid && s.term) t += ', got TERM';
  return t;
}
