/**
 * Redis glob matching (KEYS, SCAN MATCH, PSUBSCRIBE): `*`, `?`, `[abc]`, `[^a]`, `[a-z]` and `\`
 * escapes, matched against the whole string. Not a path glob: `/` is an ordinary character. The
 * matcher keeps one backtracking point, so it runs in O(pattern × text) whatever the pattern
 * (Redis itself had to fix exponential backtracking, CVE-2022-36021).
 */

/** Whether one character matches the pattern element at `p`; returns the next pattern index or -1. */
function matchElement(pattern: string, p: number, ch: string): number {
  const c = pattern[p];
  if (c === '?') return p + 1;
  if (c === '\\' && p + 1 < pattern.length) return pattern[p + 1] === ch ? p + 2 : -1;
  if (c !== '[') return c === ch ? p + 1 : -1;
  let i = p + 1;
  const negate = pattern[i] === '^';
  if (negate) i++;
  let matched = false;
  while (i < pattern.length && pattern[i] !== ']') {
    if (pattern[i] === '\\' && i + 1 < pattern.length) {
      if (pattern[i + 1] === ch) matched = true;
      i += 2;
    } else if (pattern[i + 1] === '-' && i + 2 < pattern.length && pattern[i + 2] !== ']') {
      let low = pattern[i] as string;
      let high = pattern[i + 2] as string;
      if (low > high) [low, high] = [high, low];
      if (ch >= low && ch <= high) matched = true;
      i += 3;
    } else {
      if (pattern[i] === ch) matched = true;
      i++;
    }
  }
  const next = i < pattern.length ? i + 1 : i;
  return matched !== negate ? next : -1;
}

export function globMatch(pattern: string, text: string): boolean {
  let p = 0;
  let s = 0;
  let starP = -1;
  let starS = 0;
  while (s < text.length) {
    if (p < pattern.length) {
      if (pattern[p] === '*') {
        starP = p++;
        starS = s;
        continue;
      }
      const next = matchElement(pattern, p, text[s] as string);
      if (next >= 0) {
        p = next;
        s++;
        continue;
      }
    }
    if (starP < 0) return false;
    p = starP + 1;
    s = ++starS;
  }
  while (pattern[p] === '*') p++;
  return p === pattern.length;
}

/** The literal text every match must start with (up to the first special character). */
export function literalPrefix(pattern: string): string {
  let prefix = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i] as string;
    if (c === '*' || c === '?' || c === '[') break;
    if (c === '\\') {
      if (i + 1 >= pattern.length) break;
      prefix += pattern[++i];
      continue;
    }
    prefix += c;
  }
  return prefix;
}

/** Escapes text so it matches itself literally under Redis glob rules. */
export function escapeGlob(text: string): string {
  return text.replace(/[*?[\]\\]/g, (c) => `\\${c}`);
}
