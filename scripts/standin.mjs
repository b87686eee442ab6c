// The stand-in for a logger the runsvdir host runs itself (src/runsvdir/logger.ts):
// a program that does nothing but wait for a signal, so it costs a page or
// two and no library. It is 200-odd bytes of machine code written here as a
// static ELF executable: `for (;;) pause();` — every signal keeps its default
// action, so the one that ends svlogd ends it, and the host (its parent) learns
// it from the exit status. Only x86-64 for now: elsewhere none is built, and
// the host runs every log/run as it is.
import fs from 'node:fs';
import os from 'node:os';

const BASE = 0x400000;
const EHDR = 64;
const PHDR = 56;

/** The executable for this machine, or null when none is known. */
export function standin() {
  if (os.arch() !== 'x64') return null;
  // loop: mov eax, 34 (pause) / syscall / jmp loop
  const code = Buffer.from([0xb8, 0x22, 0x00, 0x00, 0x00, 0x0f, 0x05, 0xeb, 0xf7]);
  const at = EHDR + 2 * PHDR;
  const b = Buffer.alloc(at + code.length);
  Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0]).copy(b, 0); // ELF, 64-bit, little-endian, SysV
  b.writeUInt16LE(2, 16); // ET_EXEC
  b.writeUInt16LE(0x3e, 18); // x86-64
  b.writeUInt32LE(1, 20); // version
  b.writeBigUInt64LE(BigInt(BASE + at), 24); // entry
  b.writeBigUInt64LE(BigInt(EHDR), 32); // program headers
  b.writeUInt16LE(EHDR, 52);
  b.writeUInt16LE(PHDR, 54);
  b.writeUInt16LE(2, 56);
  // PT_LOAD: the whole file, read and execute
  let p = EHDR;
  b.writeUInt32LE(1, p); b.writeUInt32LE(5, p + 4);
  b.writeBigUInt64LE(0n, p + 8); b.writeBigUInt64LE(BigInt(BASE), p + 16); b.writeBigUInt64LE(BigInt(BASE), p + 24);
  b.writeBigUInt64LE(BigInt(b.length), p + 32); b.writeBigUInt64LE(BigInt(b.length), p + 40); b.writeBigUInt64LE(0x1000n, p + 48);
  // PT_GNU_STACK: a stack that is not executable
  p += PHDR;
  b.writeUInt32LE(0x6474e551, p); b.writeUInt32LE(6, p + 4);
  code.copy(b, at);
  return b;
}

/** Write it to `file` (mode 0755); false when this machine has none. */
export function writeStandin(file) {
  const b = standin();
  fs.rmSync(file, { force: true });
  if (!b) return false;
  fs.writeFileSync(file, b, { mode: 0o755 });
  fs.chmodSync(file, 0o755);
  return true;
}
