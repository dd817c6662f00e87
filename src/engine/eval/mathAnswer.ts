// Normal forms of MATH-style answers, so that equal answers written differently compare equal
// as strings: 0.5 = \frac12 = \dfrac{1}{2} = 1/2, 90^\circ = 90, \$5.00 = 5, 5\text{ cm} = 5,
// \{2,1\} = \{1,2\}. Ordered things stay ordered: (1,2) is a point, not (2,1).
import { braceArguments, closingIndex, splitTopLevel } from './latex';
import { parseRational, rationalText } from './numbers';

const UNICODE: [RegExp, string][] = [
  [/\u2212/g, '-'],
  [/π/g, '\\pi'],
  [/∞/g, '\\infty'],
  [/×/g, '\\times'],
  [/·/g, '\\cdot'],
  [/°/g, ''],
];

/** Removes what wraps a whole answer: $...$, \(...\), \[...\], a second \boxed{...}. */
function unwrap(t: string): string {
  for (;;) {
    const before = t;
    t = t.trim();
    if (/^\$[^$]*\$$/.test(t) || /^\$\$[^$]*\$\$$/.test(t)) t = t.replace(/^\$+|\$+$/g, '');
    else if (/^\\\((.*)\\\)$/s.test(t) || /^\\\[(.*)\\\]$/s.test(t)) t = t.slice(2, -2);
    else if (/^\\(?:boxed|fbox)\{/.test(t) && closingIndex(t, t.indexOf('{')) === t.length - 1) t = t.slice(t.indexOf('{') + 1, -1);
    if (t === before) return t;
  }
}

// A unit written as text after a quantity: "5\text{ cm}", "12\mbox{ square feet}^2".
const TRAILING_UNIT = /^(.*?\S)\s*\\(?:text|textrm|textnormal|mbox|mathrm)\s*\{\s*[A-Za-z][A-Za-z\s./-]*\}\s*(?:\^\s*\{?\s*\d\s*\}?)?\s*$/s;
const TEXT_WRAPPER = /\\(?:text|textrm|textnormal|textbf|textit|mbox|mathrm|mathbf|mathit)\s*\{([^{}]*)\}/g;

/** Drops notation that does not change the value: spacing, sizing, degrees, currency, percent, units. */
function dropNotation(t: string): string {
  for (const [re, to] of UNICODE) t = t.replace(re, to);
  t = t
    .replace(/\\displaystyle(?![A-Za-z])/g, '')
    .replace(/\\[dtc]frac(?![A-Za-z])/g, '\\frac')
    .replace(/\\(?:left|right)(?:\.|(?![A-Za-z]))/g, '') // \left. is an invisible delimiter
    .replace(/\\!/g, '')
    .replace(/\{,\}/g, ',') // 10{,}000
    .replace(/\\[,:; ]|\\q?quad(?![A-Za-z])|~/g, ' ')
    .replace(/\^\s*\{\s*\\circ\s*\}|\^\s*\\circ(?![A-Za-z])|\\circ(?![A-Za-z])|\\degree(?![A-Za-z])/g, '')
    .replace(/\\\$|\$/g, '')
    .replace(/\\%|%/g, '');
  for (let cut = TRAILING_UNIT.exec(t); cut; cut = TRAILING_UNIT.exec(t)) t = cut[1];
  t = t.replace(TEXT_WRAPPER, '$1');
  if (/^\s*[-+]?\d{1,3}(?:,\d{3})+(?:\.\d+)?\s*$/.test(t)) t = t.replace(/,/g, ''); // 1,000 is a number, not a list
  return t.replace(/\s+/g, '').replace(/\.+$/, '');
}

const ASSIGNMENT = /^([A-Za-z](?:_\{?\w+\}?)?)=(?!=)([^=]+)$/;

/** "x=5" -> "5", "a_1 = 3" -> "3": the value of a single assignment to one variable. */
function dropAssignment(t: string): string {
  return ASSIGNMENT.exec(t)?.[2] ?? t;
}

/** True for things that need no parentheses around them in a/b: 3, -x, 2\sqrt{3}, \pi, x^2. */
function isAtom(t: string): boolean {
  const bare = t.replace(/^-/, '').replace(/\\sqrt(?:\[\w+\])?\{[^{}]*\}/g, 'S');
  return bare !== '' && !/[-+*/=,{}()[\]]/.test(bare);
}

/** \frac{a}{b} as the whole answer -> a/b, the way answers typed without LaTeX are written. */
function fractionAsSlash(t: string): string {
  const head = /^-?\\frac\{/.exec(t)?.[0];
  if (!head) return t;
  const numEnd = closingIndex(t, head.length - 1);
  if (numEnd < 0 || t[numEnd + 1] !== '{' || closingIndex(t, numEnd + 1) !== t.length - 1) return t;
  const wrap = (x: string) => (isAtom(x) ? x : `(${x})`);
  const sign = head.startsWith('-') ? '-' : '';
  return `${sign}${wrap(t.slice(head.length, numEnd))}/${wrap(t.slice(numEnd + 2, -1))}`;
}

/** The normal form of one value (no top-level commas). */
function normalizeScalar(t: string): string {
  const assigned = ASSIGNMENT.exec(t);
  if (assigned) return `${assigned[1]}=${normalizeScalar(assigned[2])}`;
  t = braceArguments(t).replace(/([\^_])\{(\w)\}/g, '$1$2').replace(/^\+/, '');
  t = fractionAsSlash(t).replace(/^--/, '');
  const value = parseRational(t);
  return value ? rationalText(value) : t;
}

/** Items of an unordered list; "x=1, x=2" lists values of x, while "x=1, y=2" keeps its names. */
function listItems(parts: string[]): string[] {
  const names = new Set(parts.map((p) => ASSIGNMENT.exec(p)?.[1]));
  const oneName = names.size === 1 && !names.has(undefined);
  return parts.map((p) => normalizeScalar(oneName ? dropAssignment(p) : p));
}

/** The normal form of a MATH answer; compare two answers by comparing their normal forms. */
export function normalizeMathAnswer(s: string): string {
  const t = dropAssignment(dropNotation(unwrap(s)));
  if (t.startsWith('\\{') && closingIndex(t, 1) === t.length - 1 && t.endsWith('\\}')) {
    return `\\{${sorted(listItems(splitTopLevel(t.slice(2, -2))))}\\}`;
  }
  if (/^[([]/.test(t) && closingIndex(t, 0) === t.length - 1) {
    const items = splitTopLevel(t.slice(1, -1)).map(normalizeScalar);
    // (5) is just 5, but (1,2) is a point and [1,2) an interval: order and brackets matter.
    return items.length === 1 && t[0] === '(' && t.endsWith(')') ? items[0] : `${t[0]}${items.join(',')}${t[t.length - 1]}`;
  }
  if (t.startsWith('{') && closingIndex(t, 0) === t.length - 1) return normalizeMathAnswer(t.slice(1, -1));
  const parts = splitTopLevel(t);
  return parts.length > 1 ? sorted(listItems(parts)) : normalizeScalar(t);
}

// Solutions listed as "2, -3" or a set are unordered.
function sorted(items: string[]): string {
  return [...items].sort().join(',');
}
