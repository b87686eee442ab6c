// The files runit reads (man runit; upstream's paths: Debian's /sbin/runit
// reads stopit and reboot under /run instead).
export const STAGE = ['/etc/runit/1', '/etc/runit/2', '/etc/runit/3'] as const;
export const CTRLALTDEL = '/etc/runit/ctrlaltdel';
export const STOPIT = '/etc/runit/stopit';
export const REBOOT = '/etc/runit/reboot';
export const NOSYNC = '/etc/runit/nosync';
export const CONSOLE = '/dev/console';
