// One line that says what an LLM-written algorithm does, for the table and the tree: the first
// line of its docstring, else the sentence of prose before the code, else the helpers it calls.

const clip = (s: string, n = 120) => (s.length > n ? `${s.slice(0, n - 1)}…` : s);

export function summariseCode(code: string, completion = ''): string {
  const doc = /^\s*(?:#[^\n]*\n\s*)*[rRuU]?("""|''')\s*([^\n]*?)\s*(?:\1|\n)/.exec(code);
  if (doc?.[2]) return clip(doc[2]);
  const prose = completion
    .split(/```|~~~/)[0]
    .split('\n')
    .map((l) => l.trim())
    .find((l) => l.length > 12 && !/^(def |import |from |#)/.test(l));
  if (prose) return clip(prose.replace(/\*\*/g, ''));
  const helpers = /^from\s+selfdev_merge\s+import\s+([^\n]+)/m.exec(code)?.[1];
  // Generated text: only names that are identifiers (a garbled import line is not a pattern).
  const body = code.slice(code.indexOf('def merge'));
  const calls = helpers
    ?.split(',')
    .map((h) => h.trim())
    .filter((h) => /^[A-Za-z_]\w*$/.test(h) && h !== 'as_arrays' && h !== 'finish' && new RegExp(`\\b${h}\\(`).test(body));
  if (calls?.length) return clip(`LLM: ${calls.join(' + ')}`);
  return 'LLM-written algorithm';
}
