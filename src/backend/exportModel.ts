// One export job: the algorithm applied again in the sandbox (the same runner, seed, candidates,
// scope and random seed as when it was scored), its merge checked against the statistics
// recorded then, and the merged model written as a complete checkpoint where the models are.
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { writeCheckpoint } from '../engine/model/checkpointWriter';
import type { ExportModelParams, ExportModelResult, ExportProgressParams } from '../protocol/backend';
import { applyMerge } from './scoring';

/** Relative difference under which two recorded statistics of a merge are the same merge (they
 * pass through JSON and two float reductions). */
const STATS_TOLERANCE = 1e-6;

/** The statistics that differ between the merge recorded at scoring and the one made now. */
export function deltaStatsDiffer(expected: Record<string, number | null>, actual: Record<string, number | null> | undefined): string[] {
  if (!actual) return Object.keys(expected);
  return Object.entries(expected).filter(([k, e]) => {
    const a = actual[k];
    if (e === null || a === null || a === undefined) return e !== (a ?? null);
    return Math.abs(a - e) > STATS_TOLERANCE * Math.max(1, Math.abs(e));
  }).map(([k]) => k);
}

export async function runExportJob(p: ExportModelParams, signal: AbortSignal, progress: (p: ExportProgressParams) => void): Promise<ExportModelResult> {
  const started = performance.now();
  const timings: Record<string, number> = {};
  progress({ jobId: p.jobId, phase: 'apply', done: 0, total: 1 });
  const scratch = await fs.mkdtemp(path.join(os.tmpdir(), 'selfdev-export-'));
  try {
    const applied = await applyMerge(p, scratch, signal);
    timings.apply = (performance.now() - started) / 1000;
    if (!applied.ok) return { jobId: p.jobId, status: 'failed', ...applied.failure, isolation: applied.isolation, timings };
    if (p.expectDeltaStats) {
      const differ = deltaStatsDiffer(p.expectDeltaStats, applied.deltaStats);
      if (differ.length) {
        return {
          jobId: p.jobId,
          status: 'failed',
          errorClass: 'not_reproduced',
          message: 'The merge made again differs from the one that was scored; nothing was exported.',
          detail: `${differ.map((k) => `${k}: scored ${p.expectDeltaStats![k]}, now ${applied.deltaStats?.[k]}`).join('; ')} (a nondeterministic algorithm, or other models at the same paths)`,
          deltaStats: applied.deltaStats,
          isolation: applied.isolation,
          timings,
        };
      }
    }
    const writeStart = performance.now();
    const written = await writeCheckpoint({
      seedFolder: p.models.seed,
      overlay: applied.overlay,
      out: p.out,
      metadata: p.metadata,
      maxShardBytes: p.maxShardBytes,
      card: p.card,
      extraFiles: p.extraFiles,
      signal,
      onProgress: (done, total) => progress({ jobId: p.jobId, phase: 'write', done, total }),
    });
    timings.write = (performance.now() - writeStart) / 1000;
    timings.total = (performance.now() - started) / 1000;
    return { jobId: p.jobId, status: 'ok', ...written, deltaStats: applied.deltaStats, isolation: applied.isolation, timings };
  } finally {
    await fs.rm(scratch, { recursive: true, force: true });
  }
}
