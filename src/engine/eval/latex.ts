// Small pieces of LaTeX structure that answer normalisation needs: argument groups, the
// one-token arguments TeX allows (\frac12 = \frac{1}{2}), and top-level comma splitting.

const OPEN = '{([';
const CLOSE = '})]';

/** Index of the bracket that closes the one at `open` (any of {} () [], counted alike), or -1. */
export function closingIndex(text: string, open: number): number {
  let depth = 0;
  for (let i = open; i < text.length; i++) {
    if (OPEN.includes(text[i])) depth++;
    else if (CLOSE.includes(text[i]) && --depth === 0) return i;
  }
  return -1;
}

/** Splits at commas outside any brackets or braces. */
export function splitTopLevel(text: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let from = 0;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (OPEN.includes(ch)) depth++;
    else if (CLOSE.includes(ch)) depth--;
    else if (ch === ',' && depth === 0) {
      parts.push(text.slice(from, i));
      from = i + 1;
    }
  }
  parts.push(text.slice(from));
  return parts;
}

/** One macro argument at `i`: a {group} (its content), a \command, or a single character. */
function readArg(text: string, i: number): { arg: string; end: number } | undefined {
  if (i >= text.length) return undefined;
  if (text[i] === '{') {
    const close = closingIndex(text, i);
    return close < 0 ? undefined : { arg: text.slice(i + 1, close), end: close + 1 };
  }
  const command = /^\\[A-Za-z]+/.exec(text.slice(i))?.[0];
  const token = command ?? text[i];
  return { arg: token, end: i + token.length };
}

/**
 * Rewrites \frac and \sqrt with braced arguments everywhere, recursively:
 * `\frac1{2}` -> `\frac{1}{2}`, `\sqrt2` -> `\sqrt{2}`, `\sqrt[3]8` -> `\sqrt[3]{8}`.
 * Expects text without spaces.
 */
export function braceArguments(text: string): string {
  let out = '';
  let i = 0;
  while (i < text.length) {
    const command = /^\\(frac|sqrt)(?![A-Za-z])/.exec(text.slice(i));
    if (!command) {
      out += text[i++];
      continue;
    }
    let j = i + command[0].length;
    let index = '';
    if (command[1] === 'sqrt' && text[j] === '[') {
      const close = text.indexOf(']', j);
      if (close > 0) {
        index = text.slice(j, close + 1);
        j = close + 1;
      }
    }
    const args: string[] = [];
    for (let k = 0; k < (command[1] === 'frac' ? 2 : 1); k++) {
      const a = readArg(text, j);
      if (!a) break;
      args.push(braceArguments(a.arg));
      j = a.end;
    }
    const wanted = command[1] === 'frac' ? 2 : 1;
    if (args.length < wanted) {
      out += text.slice(i); // an incomplete \frac stays as written
      break;
    }
    out += `\\${command[1]}${index}${args.map((a) => `{${a}}`).join('')}`;
    i = j;
  }
  return out;
}
