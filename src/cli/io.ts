/** Where a CLI command writes; tests pass their own. */
export interface Io {
  out(s: string): void;
  err(s: string): void;
  /** A progress line that replaces itself on a terminal; ignored elsewhere. */
  progress?(s: string): void;
}

export const EXIT = { ok: 0, failure: 1, usage: 2, unavailable: 3, cancelled: 130 } as const;

export class UsageError extends Error {}
