// timeout-kill and timeout-finish (s6): KILL to a process still running some
// milliseconds after it was told to stop (./run) or started (./finish).
// With flag-timeout-killpg the KILL goes to ./run's whole process group
// (./run then leads one: the supervisor starts it in a session of its own).
export class Deadline {
  private timer: NodeJS.Timeout | null = null;

  /** Arm (once): after `ms` (0: never), KILL `pid` (or its group) unless cancelled. */
  arm(ms: number, pid: number, group: boolean): void {
    if (ms <= 0 || this.timer || pid <= 0) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      try { process.kill(group ? -pid : pid, 'SIGKILL'); } catch { /* gone already */ }
    }, ms);
  }

  cancel(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }
}
