// How the CLI and the extension print scores: one formatter, so a figure reads the same in a
// terminal, a notification and the Runs tree (the webview has its own copy: it imports only the
// protocol file).

/** 0.4375 -> "43.8%"; a missing value -> "-". */
export function pct(x: number | null | undefined, digits = 1): string {
  return x === null || x === undefined || !Number.isFinite(x) ? '-' : `${(100 * x).toFixed(digits)}%`;
}

/** [0.3, 0.45] -> "[30.0%, 45.0%]". */
export function pctInterval(low: number, high: number, digits = 1): string {
  return `[${pct(low, digits)}, ${pct(high, digits)}]`;
}
