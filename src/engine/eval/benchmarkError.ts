/** Where in a benchmark file a problem is: a JSONL line (1-based) or a parquet row (0-based). */
export interface BenchmarkLocation {
  line?: number;
  row?: number;
}

/** A benchmark file that cannot be used; the message names the file, the line or row, and the problem. */
export class BenchmarkError extends Error {
  readonly line?: number;
  readonly row?: number;

  constructor(
    readonly file: string,
    readonly problem: string,
    at: BenchmarkLocation = {},
  ) {
    super(`${file}${locationText(at)}: ${problem}`);
    this.name = 'BenchmarkError';
    this.line = at.line;
    this.row = at.row;
  }
}

// file:line is what editors and terminals turn into links.
function locationText(at: BenchmarkLocation): string {
  if (at.line !== undefined) return `:${at.line}`;
  if (at.row !== undefined) return ` (row ${at.row})`;
  return '';
}
