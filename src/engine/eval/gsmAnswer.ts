// GSM8k-style final answers: a number, written the many ways models write numbers.
import { canonicalDecimal } from './numbers';
import { DEFAULT_EXTRACTION, type AnswerExtraction } from './types';

// A number with an optional sign and currency: "-$1,234.50", "$-5", "\$12", "+3", ".5" ("25%"
// is 25). A number glued to a word, digit or closing bracket does not start there: in "10-5"
// the last number is 5, not -5, and "x2" has none. Commas may sit between any digits, as the
// demo's evaluate.py allows ("1,000" and "1,0,0,0" are both 1000).
const NUMBER = String.raw`(?<![\w.,)\]}])([-+\u2212]?)(?:(?:\\?\$|£|€)\s?([-+\u2212]?))?(\d(?:[\d,]*\d)?(?:\.\d+)?|\.\d+)`;

function toCanonical(m: RegExpExecArray | RegExpMatchArray): string | undefined {
  const minuses = [m[1], m[2]].filter((s) => s === '-' || s === '\u2212').length;
  return canonicalDecimal((minuses % 2 ? '-' : '') + m[3]);
}

function numberAt(text: string, index: number): string | undefined {
  const re = new RegExp(NUMBER, 'y');
  re.lastIndex = index;
  const m = re.exec(text);
  return m ? toCanonical(m) : undefined;
}

function firstNumber(text: string): string | undefined {
  const m = new RegExp(NUMBER).exec(text);
  return m ? toCanonical(m) : undefined;
}

function lastNumber(text: string): string | undefined {
  let last: RegExpMatchArray | undefined;
  for (const m of text.matchAll(new RegExp(NUMBER, 'g'))) last = m;
  return last ? toCanonical(last) : undefined;
}

/** The number right after the last `####` that has one (whitespace between is fine). */
function afterHashes(text: string): string | undefined {
  const marks = [...text.matchAll(/####\s*/g)];
  for (let k = marks.length - 1; k >= 0; k--) {
    const n = numberAt(text, marks[k].index + marks[k][0].length);
    if (n !== undefined) return n;
  }
  return undefined;
}

/** The first number of the sentence after the last "answer is" / "answer:" that has one. */
function afterAnswerIs(text: string): string | undefined {
  const phrases = [...text.matchAll(/\banswer\s*(?:is\b|:)\s*:?/gi)];
  for (let k = phrases.length - 1; k >= 0; k--) {
    const rest = text.slice(phrases[k].index + phrases[k][0].length);
    const n = firstNumber(rest.split(/\n|\.(?=\s|$)/)[0]);
    if (n !== undefined) return n;
  }
  return undefined;
}

/**
 * The final numeric answer of a GSM8k-style completion as a canonical number string
 * ("1,234.50" -> "1234.5"), or undefined when there is none. See AnswerExtraction for where
 * it is looked for; the default is `strict` (only after `####`).
 */
export function extractGsmAnswer(text: string, opts: { extraction?: AnswerExtraction } = {}): string | undefined {
  const marked = afterHashes(text);
  if (marked !== undefined || (opts.extraction ?? DEFAULT_EXTRACTION) === 'strict') return marked;
  return afterAnswerIs(text) ?? lastNumber(text);
}
