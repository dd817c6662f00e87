// Normal form of any Python source for deduplication: comments, docstrings, blank lines and
// insignificant spaces go; indentation becomes one space per level; lines continued inside
// brackets are joined. Two sources with the same normal form differ only in layout.

interface Token {
  text: string;
  kind: 'string' | 'other';
}

/** Splits one logical line's text into string literals and the rest. */
function readString(src: string, at: number): number {
  const quote = src.startsWith('"""', at) ? '"""' : src.startsWith("'''", at) ? "'''" : src[at];
  let i = at + quote.length;
  while (i < src.length) {
    if (src[i] === '\\') {
      i += 2;
      continue;
    }
    if (src.startsWith(quote, i)) return i + quote.length;
    if (quote.length === 1 && src[i] === '\n') return i; // unterminated: stop at the line end
    i++;
  }
  return src.length;
}

const isWord = (c: string | undefined): boolean => c !== undefined && /[A-Za-z0-9_]/.test(c);

export function normaliseCode(code: string): string {
  const src = code.replace(/\r\n?/g, '\n').replace(/\t/g, '    ');
  const logical: { indent: number; tokens: Token[] }[] = [];
  let tokens: Token[] = [];
  let other = '';
  let depth = 0;
  let indent = 0;
  let lineStart = true;
  const flushOther = (): void => {
    if (other) tokens.push({ text: other, kind: 'other' });
    other = '';
  };
  const endLine = (): void => {
    flushOther();
    if (tokens.some((t) => t.text.trim())) logical.push({ indent, tokens });
    tokens = [];
    lineStart = true;
  };
  for (let i = 0; i < src.length; ) {
    const c = src[i];
    if (lineStart) {
      let j = i;
      while (src[j] === ' ') j++;
      indent = j - i;
      i = j;
      lineStart = false;
      continue;
    }
    if (c === '#') {
      while (i < src.length && src[i] !== '\n') i++;
      continue;
    }
    if (c === '\\' && src[i + 1] === '\n') {
      other += ' ';
      i += 2;
      continue;
    }
    if (c === '\n') {
      if (depth > 0) other += ' ';
      else endLine();
      i++;
      continue;
    }
    // String literals, with an optional prefix such as r, b, f, rb.
    const prefix = /^[rRbBuUfF]{0,2}['"]/.exec(src.slice(i, i + 3));
    if (prefix && !isWord(src[i - 1])) {
      const quoteAt = i + prefix[0].length - 1;
      const end = readString(src, quoteAt);
      flushOther();
      tokens.push({ text: src.slice(i, end), kind: 'string' });
      i = end;
      continue;
    }
    if ('([{'.includes(c)) depth++;
    if (')]}'.includes(c)) depth = Math.max(0, depth - 1);
    other += c;
    i++;
  }
  endLine();

  const levels: number[] = [0];
  const out: string[] = [];
  for (const line of logical) {
    const parts = line.tokens.filter((t) => t.kind === 'string' || t.text.trim());
    // A statement that is only a string literal is a docstring or a no-op.
    if (parts.length === 1 && parts[0].kind === 'string') continue;
    while (line.indent < levels[levels.length - 1]) levels.pop();
    if (line.indent > levels[levels.length - 1]) levels.push(line.indent);
    let text = '';
    for (const t of line.tokens) {
      if (t.kind === 'string') {
        text += t.text;
        continue;
      }
      // Keep one space only where it separates two words (e.g. "return x", "not in").
      for (let k = 0; k < t.text.length; k++) {
        const ch = t.text[k];
        if (ch !== ' ') {
          text += ch;
          continue;
        }
        while (t.text[k + 1] === ' ') k++;
        const next = t.text[k + 1];
        if (isWord(text[text.length - 1]) && isWord(next)) text += ' ';
      }
    }
    out.push(' '.repeat(levels.length - 1) + text.trim());
  }
  return out.join('\n');
}
