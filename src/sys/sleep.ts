// Blocking the whole process for a while, for the rare places that must wait
// before they go on (no event loop turn in between).

/** Block for `ms`. */
export function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}
