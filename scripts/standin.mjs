// The stand-in for a logger the runsvdir host runs itself (src/runsvdir/logger.ts):
// a program that does nothing but wait for a signal, so it costs a page or
// two and no library. It is 200-odd bytes of machine code written here as a
// static ELF executable: `for (;;) pause();` — every signal keeps its default
// action, so the one that ends svlogd ends it, and the host (its parent) learns
// it from the exit status. Only x86-64 for now: elsewhere none is built, and
// the host runs every log/run as it is.
import os from 'node:os';
import { elfOf, writeProgram } from './elf.mjs';

/** The executable for this machine, or null when none is known. */
export function standin() {
  if (os.arch() !== 'x64') return null;
  // loop: mov eax, 34 (pause) / syscall / jmp loop
  const code = Buffer.from([0xb8, 0x22, 0x00, 0x00, 0x00, 0x0f, 0x05, 0xeb, 0xf7]);
  return elfOf(code);
}

/** Write it to `file` (mode 0755); false when this machine has none. */
export function writeStandin(file) {
  return writeProgram(file, standin());
}
