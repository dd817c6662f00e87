// Number formatting shared by the table, the charts and the detail views.

/** 0.4123 -> "41.2%". */
export function pct(v: number | null | undefined, digits = 1): string {
  return v === null || v === undefined || !Number.isFinite(v) ? '—' : `${(v * 100).toFixed(digits)}%`;
}

/** [0.35, 0.47] -> "35.0–47.0". */
export function interval(iv: [number, number] | undefined): string {
  return iv ? `${(iv[0] * 100).toFixed(1)}–${(iv[1] * 100).toFixed(1)}` : '—';
}

/** A score difference in percentage points: 0.123 -> "+12.3 pp". */
export function points(v: number | null | undefined): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '—';
  const p = v * 100;
  return `${p >= 0 ? '+' : '−'}${Math.abs(p).toFixed(1)} pp`;
}

export function temperature(t: number | undefined | null): string {
  return t === undefined || t === null ? '—' : t.toFixed(2);
}

export function count(n: number, one: string, many = `${one}s`): string {
  return `${n.toLocaleString('en-US')} ${n === 1 ? one : many}`;
}
