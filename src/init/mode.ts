// Machine or container: what runit does when told to shut down and once stage
// 3 is over. On a machine (runit's behaviour) it ignores TERM and ends with
// reboot(2). As a container's init it takes TERM for a shutdown request
// (`docker stop`, `podman stop`, Kubernetes) and exits with a status
// (exitStatus), since reboot(2) in a PID namespace only makes the kernel kill
// it by a signal. RUNIT_CONTAINER=1 or =0 forces either; unset, a runit that
// is not in the machine's first PID namespace is a container's.
import fs from 'node:fs';

/** /proc/self/ns/pid of the first PID namespace (the kernel's PROC_PID_INIT_INO). */
const FIRST_PID_NS = 'pid:[4026531836]';

export function inContainer(env: NodeJS.ProcessEnv = process.env): boolean {
  const forced = env.RUNIT_CONTAINER;
  if (forced === '1') return true;
  if (forced === '0') return false;
  try {
    return fs.readlinkSync('/proc/self/ns/pid') !== FIRST_PID_NS;
  } catch {
    return false; // no /proc yet: a machine's init, before stage 1 mounted it
  }
}

/**
 * The status a container's runit exits with: 0 after a clean shutdown; 1 if
 * stage 1 failed (could not start, crashed, or exited non-zero), 2 if stage 3
 * did, 3 if both.
 */
export function exitStatus(stage1Failed: boolean, stage3Failed: boolean): number {
  return (stage1Failed ? 1 : 0) | (stage3Failed ? 2 : 0);
}
