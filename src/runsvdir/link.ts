// runsvdir's side of the supervision host: start it when there is something
// to supervise, tell it what changes, and start it again if it dies (as
// runsvdir restarts a dead runsv), telling it everything anew.
import { spawn, type ChildProcess } from 'node:child_process';
import type { Writable, Readable } from 'node:stream';
import { encode, type Message } from './protocol.js';
import type { Services } from './scan.js';

export interface LinkOptions {
  /** The host program (bin/runsvdir-host). */
  program: string;
  newSession: boolean;
  /** Where the services live (paths sent to the host are DIR/name). */
  dir: string;
  /** What runsvdir supervises now. */
  services: Services;
  /** The host's standard error, when runsvdir keeps a log; else it shares runsvdir's. */
  stderr: ((bytes: Buffer) => void) | null;
  warn(text: string, err?: unknown): void;
}

export class HostLink {
  private child: ChildProcess | null = null;
  private channel: Writable | null = null;
  private lastSpawn = -Infinity;
  private timer: NodeJS.Timeout | null = null;
  private queued: string[] = [];

  constructor(private readonly o: LinkOptions) {}

  /** The host's pid, while there is one. */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  add(key: string, name: string): void {
    this.send({ add: key, name, path: `${this.o.dir}/${name}` });
  }

  del(key: string): void {
    this.send({ del: key });
  }

  /** Every service gets the exit command. */
  hup(): void {
    if (!this.channel) return;
    this.send({ hup: true });
    this.flush();
  }

  /** Messages go out together at the end of the tick: one write for a whole scan. */
  private send(m: Message): void {
    if (!this.channel) {
      this.ensure();
      return;
    }
    if (this.queued.length === 0) queueMicrotask(() => this.flush());
    this.queued.push(encode(m));
  }

  private flush(): void {
    if (this.channel && this.queued.length) this.channel.write(this.queued.join(''));
    this.queued = [];
  }

  /** Start a host unless one runs or is about to; it is then told every service. */
  ensure(): void {
    if (this.child || this.timer || this.o.services.size === 0) return;
    const wait = this.lastSpawn + 1000 - Date.now();
    if (wait > 0) {
      this.timer = setTimeout(() => { this.timer = null; this.ensure(); }, wait);
      return;
    }
    this.lastSpawn = Date.now();
    const args = [
      // A smaller young generation: the host allocates little and often.
      '--max-semi-space-size=1',
      // No collections on a timer once idle: compact.ts collects after each burst of work.
      '--no-memory-reducer',
      // gc() for compact.ts without the cost of a second context.
      '--expose-gc',
      this.o.program,
      ...(this.o.newSession ? ['-P'] : []),
    ];
    let child: ChildProcess;
    try {
      child = spawn(process.execPath, args, {
        stdio: ['inherit', 'inherit', this.o.stderr ? 'pipe' : 'inherit', 'pipe'],
        // -P: the supervisors in a new session too, as runsvdir -P puts each runsv.
        detached: this.o.newSession,
      });
    } catch (e) {
      this.o.warn('unable to start runsv', e);
      this.ensure();
      return;
    }
    child.on('error', (e) => this.o.warn('unable to start runsv', e));
    if (child.pid === undefined) {
      this.ensure();
      return;
    }
    this.child = child;
    const channel = child.stdio[3] as Writable;
    channel.on('error', () => { /* the host died; its exit follows */ });
    this.channel = channel;
    const stderr = child.stdio[2] as Readable | null;
    if (stderr && this.o.stderr) {
      const sink = this.o.stderr;
      stderr.on('data', (b: Buffer) => sink(b));
      stderr.on('error', () => { /* gone with the host */ });
    }
    child.on('exit', () => {
      if (this.child !== child) return;
      this.child = null;
      this.channel = null;
      this.queued = [];
      this.ensure();
    });
    this.queued = [];
    for (const [key, name] of this.o.services) this.send({ add: key, name, path: `${this.o.dir}/${name}` });
  }
}
