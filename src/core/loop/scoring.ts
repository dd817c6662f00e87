// Scoring jobs of a run through the backend: a batch that resumes where it stopped (results
// already recorded are not scored again, identical code reuses a result), and one job scored
// now for an edit or a re-evaluation.
import { normaliseCode } from '../factory';
import { BASELINES, codeHash, iterationDir, latestById, type ScoredRecord } from './records';
import type { RunLoop, ScoreJob } from './runLoop';

/** Results are committed every this many, so an interruption loses little of git's record. */
const COMMIT_EVERY = 20;

const jobHash = (job: ScoreJob) => (job.source === undefined ? 'seed' : codeHash(normaliseCode(job.source) + JSON.stringify(job.constants ?? {})));

function reuse(known: ScoredRecord, job: ScoreJob, iteration: number, hash: string): ScoredRecord {
  // Only the outcome carries over; what the record says about itself comes from the job.
  const { edited: _e, rescored: _r, ...outcome } = known;
  return { ...outcome, id: job.id, file: job.file, iteration, codeHash: hash, reusedFrom: `${known.iteration}/${known.id}`, ...job.extra, timings: { total: 0 } };
}

async function evaluate(loop: RunLoop, iteration: number, job: ScoreJob, hash: string, jobId: string, base = loop.baseParams()): Promise<ScoredRecord> {
  const result = await loop.backend.score(
    { ...base, jobId, algorithm: job.source === undefined ? undefined : { source: job.source, constants: job.constants } },
    { signal: loop.signal },
  );
  return loop.toRecord(job.id, iteration, result, hash, job.file, job.extra);
}

/** Code hash -> the result in force for that code (a later evaluation replaces an earlier one). */
async function knownResults(loop: RunLoop): Promise<Map<string, ScoredRecord>> {
  const map = new Map<string, ScoredRecord>();
  const files = [BASELINES];
  const generated = await loop.generatedIterations();
  for (let t = 1; t <= generated; t++) files.push(`${iterationDir(t)}/results.jsonl`);
  for (const f of files) for (const r of latestById(await loop.records<ScoredRecord>(f))) if (r.codeHash && !r.reusedFrom) map.set(r.codeHash, r);
  return map;
}

/**
 * Scores the jobs that `file` has no record of yet, `concurrency` at a time, appending each
 * result as it arrives. `batch` is the whole batch for progress, when some of it (vetoed) is
 * not scored.
 */
export async function scoreAll(loop: RunLoop, iteration: number, file: string, jobs: ScoreJob[], batch = jobs.length): Promise<ScoredRecord[]> {
  const done = new Map((await loop.records<ScoredRecord>(file)).map((r) => [r.id, r]));
  const byHash = await knownResults(loop);
  const todo = jobs.filter((j) => !done.has(j.id));
  let finished = batch - todo.length;
  let sinceCommit = 0;
  const base = loop.baseParams();
  const where = iteration ? `iteration ${iteration}` : 'baselines';
  const runOne = async (job: ScoreJob): Promise<void> => {
    loop.checkCancelled();
    const hash = jobHash(job);
    const known = byHash.get(hash);
    let record: ScoredRecord;
    if (known) {
      record = reuse(known, job, iteration, hash);
    } else {
      record = await evaluate(loop, iteration, job, hash, `${loop.header.id}/dev/${hash}`, base);
      byHash.set(hash, record);
    }
    await loop.run.appendLine(file, JSON.stringify(record));
    done.set(job.id, record);
    loop.emit({ type: 'scored', iteration, record, done: ++finished, total: batch });
    if (++sinceCommit >= COMMIT_EVERY) {
      sinceCommit = 0;
      await loop.commit(`${where}: scored ${finished}/${batch}`);
    }
  };
  await pool(todo, loop.config.concurrency, runOne);
  await loop.commit(`${where}: scored ${jobs.length} ${file.startsWith('baselines') ? 'baselines and controls' : 'algorithms'}`);
  return jobs.map((j) => done.get(j.id)!);
}

/**
 * Scores one job now (an edit or a re-evaluation); the caller writes the record. `fresh`
 * evaluates again even when this code has a result (in the run or the backend's journal), for
 * when something outside the code changed, such as the Python environment.
 */
export async function scoreNow(loop: RunLoop, iteration: number, job: ScoreJob, fresh: boolean): Promise<ScoredRecord> {
  const hash = jobHash(job);
  if (!fresh) {
    const known = (await knownResults(loop)).get(hash);
    if (known) return reuse(known, job, iteration, hash);
  }
  return evaluate(loop, iteration, job, hash, `${loop.header.id}/dev/${hash}${fresh ? `/again-${Date.now().toString(36)}` : ''}`);
}

async function pool<T>(items: T[], size: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const workers = Array.from({ length: Math.max(1, Math.min(size, items.length)) }, async () => {
    while (next < items.length) await fn(items[next++]);
  });
  await Promise.all(workers);
}
