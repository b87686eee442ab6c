// runit words system errors the way djb's error_str does; users (and scripts
// that grep logs) know these texts, so we print the same ones.
const texts: Record<string, string> = {
  EINTR: 'interrupted system call',
  ENOMEM: 'out of memory',
  ENOENT: 'file does not exist',
  ETXTBSY: 'text busy',
  EIO: 'input/output error',
  EEXIST: 'file already exists',
  ETIMEDOUT: 'timed out',
  EINPROGRESS: 'operation in progress',
  EAGAIN: 'temporary failure',
  EWOULDBLOCK: 'temporary failure',
  EPIPE: 'broken pipe',
  EPERM: 'permission denied',
  EACCES: 'access denied',
  ENXIO: 'device not configured',
  EPROTO: 'protocol error',
  EISDIR: 'is a directory',
  ESRCH: 'no such process',
  E2BIG: 'argument list too long',
  ENOEXEC: 'exec format error',
  EBADF: 'file descriptor not open',
  ECHILD: 'no child processes',
  EDEADLK: 'operation would cause deadlock',
  EFAULT: 'bad address',
  ENOTBLK: 'not a block device',
  EBUSY: 'device busy',
  EXDEV: 'cross-device link',
  ENODEV: 'device does not support operation',
  ENOTDIR: 'not a directory',
  EINVAL: 'invalid argument',
  ENFILE: 'system cannot open more files',
  EMFILE: 'process cannot open more files',
  ENOTTY: 'not a tty',
  EFBIG: 'file too big',
  ENOSPC: 'out of disk space',
  ESPIPE: 'unseekable descriptor',
  EROFS: 'read-only file system',
  EMLINK: 'too many links',
  EDOM: 'input out of range',
  ERANGE: 'output out of range',
  ENAMETOOLONG: 'file name too long',
  ELOOP: 'symbolic link loop',
  ENOTEMPTY: 'directory not empty',
  ECONNREFUSED: 'connection refused',
  EADDRINUSE: 'address already used',
  EADDRNOTAVAIL: 'address not available',
  ENETUNREACH: 'network unreachable',
  EHOSTUNREACH: 'host unreachable',
  ECONNRESET: 'connection reset',
  EDQUOT: 'disk quota exceeded',
  EBADFORMAT: 'bad format', // not an errno: a file of the wrong shape (runit's words)
};

/** The runit text for an errno name such as 'ENOENT'. */
export function errnoText(code: string | undefined): string {
  if (code === undefined) return 'unknown error';
  return texts[code] ?? code.toLowerCase();
}

/** The runit text for whatever a Node fs/net call threw. */
export function why(e: unknown): string {
  if (e && typeof e === 'object' && 'code' in e && typeof (e as { code: unknown }).code === 'string') {
    return errnoText((e as { code: string }).code);
  }
  return e instanceof Error ? e.message : String(e);
}

export function errCode(e: unknown): string | undefined {
  if (e && typeof e === 'object' && 'code' in e) return String((e as { code: unknown }).code);
  return undefined;
}
