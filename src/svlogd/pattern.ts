// svlogd's patterns (man svlogd, PATTERN MATCHING): not regular expressions.
// A plain character matches itself; `+` matches the next pattern character one
// or more times; `*` before the end matches up to (not including) the first
// occurrence of the next pattern character, with no backtracking; `*` at the
// end matches anything. The whole message (its first len characters) must match,
// except that, as in runit, a message that ends inside a `+` run matches.
const STAR = 0x2a;
const PLUS = 0x2b;

export function pmatch(p: Buffer, s: Buffer, start: number, end: number): boolean {
  let i = 0;
  let j = start;
  const n = p.length;
  while (i < n) {
    const c = p[i++]!;
    if (c === STAR) {
      if (i === n) return true;
      const next = p[i]!;
      while (j < end && s[j] !== next) j++;
      if (j === end) return false;
    } else if (c === PLUS) {
      if (i === n) return j === end;
      const next = p[i++]!;
      if (j === end || s[j] !== next) return false;
      while (j < end && s[j] === next) j++;
      // runit: a message used up by a `+` run matches, whatever pattern is left.
      if (j === end) return true;
    } else {
      if (j === end || s[j] !== c) return false;
      j++;
    }
  }
  return j === end;
}
