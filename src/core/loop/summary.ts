// summary.json: the figures of a run per iteration (vetoed algorithms left out), with the seed,
// the best tuned baseline, the random-program control and the sealed test results.
import { temperatureAt } from '../schedule';
import { BASELINES, iterationDir, latestById, type ScoredRecord } from './records';
import type { RunLoop } from './runLoop';
import { meanScore } from '../../stats';

export interface RunSummary {
  run: string;
  seed: BriefRecord | null;
  bestBaseline: BriefRecord | null;
  control: { algorithms: number; ok: number; best: BriefRecord | null; meanScore: number | null };
  iterations: {
    iteration: number;
    temperature: number;
    algorithms: number;
    ok: number;
    failed: number;
    meanScore: number | null;
    best: BriefRecord | null;
    complete: boolean;
  }[];
  sealedTest: { evaluations: number; finalists: SealedEntry[]; references: SealedEntry[] } | null;
}

export interface SealedEntry {
  id: string;
  dev: string | null;
  test: number | null;
  interval: [number, number] | null;
  status: string;
}

export interface BriefRecord {
  id: string;
  score: number;
  interval: [number, number];
  scores: Record<string, number>;
}

/** The best scored record; ties go to the earlier iteration, then the lower id, so the choice is stable. */
export function bestOf(rs: readonly ScoredRecord[]): ScoredRecord | undefined {
  return rs.filter((r) => r.status === 'ok').sort((a, b) => b.score! - a.score! || a.iteration - b.iteration || a.id.localeCompare(b.id))[0];
}

const brief = (r: ScoredRecord | undefined): BriefRecord | null => (r ? { id: r.id, score: r.score!, interval: r.interval!, scores: r.scores! } : null);

export async function summariseRun(loop: RunLoop): Promise<RunSummary> {
  const base = latestById(await loop.records<ScoredRecord>(BASELINES));
  const iterations = [];
  const vetoes = await loop.vetoes();
  const generated = await loop.generatedIterations();
  for (let t = 1; t <= generated; t++) {
    const rs = (await loop.results(t)).filter((r) => !vetoes.hasAlgorithm(t, r.id));
    const ok = rs.filter((r) => r.status === 'ok');
    const factory = await loop.run.read(`${iterationDir(t)}/factory.json`);
    iterations.push({
      iteration: t,
      temperature: temperatureAt(loop.config.temperature, t),
      algorithms: rs.length,
      ok: ok.length,
      failed: rs.length - ok.length,
      meanScore: ok.length ? meanScore(ok.map((r) => r.score!)) : null,
      best: brief(bestOf(rs)),
      complete: Boolean(factory),
    });
  }
  const controls = base.filter((r) => r.kind === 'control');
  const okControls = controls.filter((r) => r.status === 'ok');
  const final = await loop.records<ScoredRecord>('finalize/results.jsonl');
  const references = await loop.records<ScoredRecord>('finalize/references.jsonl');
  const sealed = (r: ScoredRecord): SealedEntry => ({ id: r.id, dev: r.summary ?? null, test: r.score ?? null, interval: r.interval ?? null, status: r.status });
  return {
    run: loop.header.id,
    seed: brief(base.find((r) => r.id === 'seed')),
    bestBaseline: brief(bestOf(base.filter((r) => r.kind === 'baseline'))),
    control: { algorithms: controls.length, ok: okControls.length, best: brief(bestOf(controls)), meanScore: okControls.length ? meanScore(okControls.map((r) => r.score!)) : null },
    iterations,
    sealedTest: final.length ? { evaluations: final.length + references.length, finalists: final.map(sealed), references: references.map(sealed) } : null,
  };
}
