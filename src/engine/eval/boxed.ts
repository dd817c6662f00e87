// The content of a MATH-style answer box: \boxed{...} (nested braces), \boxed 5, \fbox{...}.

/** Index just past the group that opens at `open` (a "{"), or -1 when it never closes. */
function closeOf(text: string, open: number): number {
  let depth = 0;
  for (let i = open; i < text.length; i++) {
    const ch = text[i];
    if (ch === '\\') i++; // \{ and \} are literal braces, not grouping
    else if (ch === '{') depth++;
    else if (ch === '}' && --depth === 0) return i + 1;
  }
  return -1;
}

/**
 * The trimmed content of the last `\boxed` or `\fbox` in `text`, or undefined when there is
 * none or the last one never closes (a completion cut off inside its answer has no answer,
 * as in the demo's evaluate.py); so is an empty box. `\boxed 5` (TeX's one-argument form without braces) gives
 * the text up to the next space or `$`.
 */
export function extractBoxed(text: string): string | undefined {
  let last: RegExpMatchArray | undefined;
  for (const m of text.matchAll(/\\(?:boxed|fbox)(?![A-Za-z])\s*/g)) last = m;
  if (last?.index === undefined) return undefined;
  const start = last.index + last[0].length;
  if (text[start] === '{') {
    const end = closeOf(text, start);
    return end < 0 ? undefined : text.slice(start + 1, end - 1).trim() || undefined;
  }
  // Sentence punctuation after a bare answer ("is \boxed 5.") is not part of it.
  const bare = /^[^\s$]+/.exec(text.slice(start))?.[0].replace(/[.,;:!?]+$/, '');
  return bare || undefined;
}
