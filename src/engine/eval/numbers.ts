// Canonical forms of numbers, so that "1,000", "1000.00" and "+1000" compare equal as strings.

const DECIMAL = /^([-+]?)(\d*)(?:\.(\d*))?$/;

/**
 * The canonical decimal string of a plain number ("-1,234.50" -> "-1234.5", ".5" -> "0.5",
 * "7.0" -> "7", "-0" -> "0"), or undefined when `raw` is not one. Commas between digits are
 * dropped wherever they are, as the demo's evaluate.py does.
 */
export function canonicalDecimal(raw: string): string | undefined {
  const m = DECIMAL.exec(raw.trim().replace(/\u2212/g, '-').replace(/(?<=\d),(?=\d)/g, ''));
  if (!m) return undefined;
  const [, sign, intPart, fracPart = ''] = m;
  if (intPart === '' && fracPart === '') return undefined;
  const int = intPart.replace(/^0+(?=\d)/, '') || '0';
  const frac = fracPart.replace(/0+$/, '');
  const body = frac ? `${int}.${frac}` : int;
  return sign === '-' && /[1-9]/.test(body) ? `-${body}` : body;
}

/** An exact rational number. */
export interface Rational {
  num: bigint;
  den: bigint;
}

function gcd(a: bigint, b: bigint): bigint {
  a = a < 0n ? -a : a;
  b = b < 0n ? -b : b;
  while (b !== 0n) [a, b] = [b, a % b];
  return a;
}

function reduce(num: bigint, den: bigint): Rational {
  if (den < 0n) [num, den] = [-num, -den];
  const g = gcd(num, den) || 1n;
  return { num: num / g, den: den / g };
}

function decimalToRational(s: string): Rational | undefined {
  const c = canonicalDecimal(s);
  if (c === undefined) return undefined;
  const [int, frac = ''] = c.split('.');
  return reduce(BigInt(int + frac), 10n ** BigInt(frac.length));
}

/** Parses "3", "-0.25", "1/2", "-3/-6" exactly; undefined for anything else or a zero denominator. */
export function parseRational(s: string): Rational | undefined {
  const parts = s.split('/');
  if (parts.length > 2) return undefined;
  const a = decimalToRational(parts[0]);
  if (!a) return undefined;
  if (parts.length === 1) return a;
  const b = decimalToRational(parts[1]);
  if (!b || b.num === 0n) return undefined;
  return reduce(a.num * b.den, a.den * b.num);
}

/** "n" for integers, "p/q" in lowest terms otherwise (so 0.5, 1/2 and 2/4 all become "1/2"). */
export function rationalText(r: Rational): string {
  return r.den === 1n ? r.num.toString() : `${r.num}/${r.den}`;
}
