// Scoring jobs on the demo models for the remote backend's tests: real merges by the runner and
// real evaluations, one quick and one that keeps the runner busy for a few seconds.
import { mkdtempSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { benchmarkJobs, readRunConfig, scoreSettings } from '../../../src/core/config/runConfig';
import type { ScoreParams } from '../../../src/protocol/backend';
import { PYTHON } from './python';
import { writeSmallConfig } from './smallRun';

export const AVERAGE = `def merge(task_vectors, name):\n    return sum(task_vectors) / len(task_vectors)\n`;

/** Busy for `loops` additions (about 2e7 a second) at its first tensor, then an average: a job to
 * kill, cancel or drop the link under. */
export const slowAlgorithm = (loops: number) =>
  `BUSY = []\n\ndef merge(task_vectors, name):\n    if not BUSY:\n        x = 0\n        for i in range(${loops}):\n            x += i\n        BUSY.append(x)\n    return sum(task_vectors) / len(task_vectors)\n`;

export async function scoreParamsFactory(): Promise<(jobId: string, source?: string) => ScoreParams> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'selfdev-daemon-jobs-'));
  const config = await readRunConfig(writeSmallConfig(dir));
  return (jobId, source = AVERAGE) => ({
    jobId,
    models: { seed: config.seed, candidates: config.candidates, mergeScope: config.mergeScope, tensorLibrary: config.tensorLibrary },
    algorithm: { source },
    benchmarks: benchmarkJobs(config, 'dev'),
    settings: scoreSettings(config),
    limits: { timeoutSeconds: 120, memoryMB: 2048 },
    randomSeed: 1,
    python: PYTHON,
    threads: 1,
  });
}
