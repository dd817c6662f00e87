import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';

/** Counts a tier reports to scripts/test-all.mjs. */
export interface TierResult {
  passed: number;
  failed: number;
  skipped: number;
}

export function writeResult(file: string | undefined, result: TierResult): void {
  if (!file) return;
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, JSON.stringify(result));
}

export function readResult(file: string): TierResult | undefined {
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as TierResult) : undefined;
}
