// The `selfdev` command as the tests run it: the built CLI in a child process, on small runs of
// the demo models with both benchmarks and a sealed test split.
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { repoRoot } from '../../harness/paths';
import { writeSmallConfig } from './smallRun';

const demo = path.join(repoRoot, 'resources', 'demo');
export const CLI = path.join(repoRoot, 'out', 'cli.js');

export const git = (cwd: string, ...args: string[]) => execFileSync('git', args, { cwd, encoding: 'utf8' }).trim();

export function selfdevWith(env: NodeJS.ProcessEnv, cwd: string, ...args: string[]) {
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd, encoding: 'utf8', timeout: 600_000, env: { ...process.env, ...env } });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

export const selfdev = (cwd: string, ...args: string[]) => selfdevWith({}, cwd, ...args);

/** A results file's records. */
export const jsonLines = (file: string) => readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);

/** A small config with the GSM and MATH demo sets (dev and sealed test), 2 finalists and the control. */
export function twoBenchmarkConfig(dir: string, extra: Record<string, unknown> = {}): string {
  return writeSmallConfig(dir, {
    benchmarks: {
      gsm: { dev: path.join(demo, 'data', 'gsm_dev.jsonl'), test: path.join(demo, 'data', 'gsm_test.jsonl'), answer: 'gsm8k', devSize: 16 },
      math: { dev: path.join(demo, 'data', 'math_dev.jsonl'), test: path.join(demo, 'data', 'math_test.jsonl'), answer: 'boxed', devSize: 12 },
    },
    eval: { maxNewTokens: 48, stop: ['</s>', '\n\n'] },
    finalists: 2,
    randomControl: true,
    ...extra,
  });
}
