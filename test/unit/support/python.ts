import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { repoRoot } from '../../harness/paths';

export const PYTHON = process.env.SELFDEV_PYTHON ?? 'python3';

/** Runs a fixture script of test/fixtures with the real Python libraries; returns its output folder. */
export function runFixtureScript(script: string, ...args: string[]): string {
  const out = mkdtempSync(path.join(os.tmpdir(), `selfdev-${path.basename(script, '.py')}-`));
  execFileSync(PYTHON, [path.join(repoRoot, 'test', 'fixtures', script), out, ...args], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, HF_HUB_OFFLINE: '1', TRANSFORMERS_OFFLINE: '1' },
    timeout: 300_000,
  });
  return out;
}

export const demoModel = (name: string): string => path.join(repoRoot, 'resources', 'demo', 'models', name);

/** make_reference.py's and folder_logits.py's reference.json: per model folder, token sequences
 * and the float32 logits transformers computes for every position. */
export interface LogitsCase {
  ids: number[];
  logits: number[];
}
export interface LogitsReference {
  folder: string;
  vocab: number;
  cases: LogitsCase[];
  /** A merged model given as the seed plus the runner's overlay. */
  seed?: string;
  overlay?: string;
}
