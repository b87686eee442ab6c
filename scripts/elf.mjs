import fs from 'node:fs';

// A static x86-64 ELF executable of machine code alone (scripts/standin.mjs,
// scripts/start.mjs): one PT_LOAD of the whole file, read and execute, and a
// stack that is not executable. The code runs from its first byte.
const BASE = 0x400000;
const EHDR = 64;
const PHDR = 56;

/** The executable whose code is `code` (a Buffer). */
export function elfOf(code) {
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

/** Write `b` to `file` (mode 0755), or remove `file` when b is null; false then. */
export function writeProgram(file, b) {
  fs.rmSync(file, { force: true });
  if (!b) return false;
  fs.writeFileSync(file, b, { mode: 0o755 });
  fs.chmodSync(file, 0o755);
  return true;
}
