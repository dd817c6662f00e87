// Synthetic, deterministic data for the results panel (benchmark and screenshots): what the host
// would send for a run. Realistic proportions: about 8% of algorithms fail, dev scores follow
// N(0.4, 0.08) clipped to [0, 1] on a 256-question dev set, 95% intervals are about ±7 points,
// a few algorithms are vetoed or edited, and each iteration pairs its best with its worst.
import type {
  AlgorithmDetail,
  AlgorithmRow,
  IterationData,
  IterationOverview,
  PairDetail,
  PairRow,
  RunListEntry,
  RunOverview,
  ScorePoint,
} from '../../src/protocol/webviewMessages';
import { seededRandom } from '../../src/stats';
import { lineDiff } from '../../src/core/runView';

export interface PanelFixture {
  runs: RunListEntry[];
  overviews: Record<string, RunOverview>;
  /** runId -> iteration -> data */
  iterations: Record<string, Record<number, IterationData>>;
  /** `${runId}/${iteration}/${id}` -> detail (only for runs generated with details) */
  details: Record<string, AlgorithmDetail>;
  /** `${runId}/${iteration}/${index}` -> pair */
  pairs: Record<string, PairDetail>;
}

const DEV_QUESTIONS = 256;
const clip = (v: number) => Math.min(1, Math.max(0, v));
const onDevGrid = (v: number) => Math.round(clip(v) * DEV_QUESTIONS) / DEV_QUESTIONS;

function normal(rand: () => number, mean: number, sd: number): number {
  const u = Math.max(rand(), 1e-12);
  return mean + sd * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rand());
}

const ERRORS: { cls: string; weight: number; message: string }[] = [
  { cls: 'timeout', weight: 3, message: 'merge() did not return within 120 s' },
  { cls: 'exception', weight: 4, message: "KeyError: 'model.layers.12.mlp.up_proj.weight'" },
  { cls: 'shape', weight: 2, message: 'output tensor model.embed_tokens.weight has shape (2048, 512), expected (32000, 512)' },
  { cls: 'nan', weight: 1, message: 'merged weights contain NaN in 3 tensors' },
  { cls: 'oom', weight: 1, message: 'MemoryError while allocating 1.9 GiB' },
];

interface Recipe {
  summary: string;
  body: string[];
}

/**
 * Merge recipes in the algorithm contract (merge(task_vectors, name) returns the merged delta):
 * a parameter drawn from `range` (printed with 2 digits), a summary and a body.
 */
const RECIPES: { range?: [number, number]; summary: (v: string, k: number) => string; body: (v: string) => string[] }[] = [
  {
    range: [0.2, 0.9],
    summary: (lam, k) => `task arithmetic over ${k} models, λ=${lam}`,
    body: (lam) => [`    lam = ${lam}`, '    return lam * np.sum(np.stack(task_vectors), axis=0)'],
  },
  {
    range: [0.1, 0.4],
    summary: (trim, k) => `TIES: keep top ${Math.round(Number(trim) * 100)}% by magnitude, sign election, ${k} models`,
    body: (trim) => [
      `    density = ${trim}`,
      '    stacked = np.stack(task_vectors)',
      '    cut = np.quantile(np.abs(stacked), 1 - density, axis=0)',
      '    kept = np.where(np.abs(stacked) >= cut, stacked, 0.0)',
      '    sign = np.sign(kept.sum(axis=0))',
      '    agree = np.where(np.sign(kept) == sign, kept, 0.0)',
      '    return agree.sum(axis=0) / np.maximum(1, (agree != 0).sum(axis=0))',
    ],
  },
  {
    range: [0.1, 0.6],
    summary: (p, k) => `DARE: drop ${Math.round(Number(p) * 100)}% of deltas, rescale, average ${k} models`,
    body: (p) => [
      `    p = ${p}`,
      '    rng = np.random.default_rng(0)',
      '    out = np.zeros_like(task_vectors[0])',
      '    for t in task_vectors:',
      '        keep = rng.random(t.shape) >= p',
      '        out += np.where(keep, t / (1 - p), 0.0) / len(task_vectors)',
      '    return out',
    ],
  },
  {
    range: [0.3, 0.8],
    summary: (s) => `fold in one by one: half the merge plus half the row mean, scale ${s}`,
    body: (s) => [
      '    merged = task_vectors[0]',
      '    for t in task_vectors[1:]:',
      '        merged = 0.5 * merged + 0.5 * np.mean(t, axis=0, keepdims=True) * np.ones_like(t)',
      `    return ${s} * merged`,
    ],
  },
  {
    summary: (_, k) => `weights by task-vector norm, softmax at 0.1, ${k} models`,
    body: () => [
      '    norms = np.array([np.linalg.norm(t) for t in task_vectors])',
      '    w = np.exp(norms / norms.max() / 0.1)',
      '    w /= w.sum()',
      '    return sum(wi * t for wi, t in zip(w, task_vectors))',
    ],
  },
  {
    range: [0.5, 1.2],
    summary: (s) => `norm-matched task vectors, scale ${s}`,
    body: (s) => [
      `    scale = ${s}`,
      '    target = np.mean([np.linalg.norm(t) for t in task_vectors])',
      '    merged = np.sum(np.stack(task_vectors), axis=0)',
      '    return scale * merged * target / (np.linalg.norm(merged) + 1e-8)',
    ],
  },
];

function recipe(rand: () => number): Recipe {
  const k = 2 + Math.floor(rand() * 3);
  const r = RECIPES[Math.floor(rand() * RECIPES.length)];
  const v = r.range ? (r.range[0] + (r.range[1] - r.range[0]) * rand()).toFixed(2) : '';
  return { summary: r.summary(v, k), body: r.body(v) };
}

function codeOf(id: string, r: Recipe): string {
  return [
    `# ${id}: ${r.summary}`,
    'import numpy as np',
    '',
    '',
    'def merge(task_vectors, name):',
    `    """The merged delta of one parameter (${'`'}name${'`'}) from the candidates' task vectors."""`,
    ...r.body,
    '',
  ].join('\n');
}

export interface RunSpec {
  runId: string;
  name: string;
  /** Algorithms per iteration. */
  sizes: number[];
  seed: number;
  /** Generate code, errors, diffs and pair details (for screenshots and interaction). */
  details: boolean;
  /** The last iteration is still being scored: some rows pending, no pairs yet. */
  lastRunning?: boolean;
  /** Finalized: the sealed-test comparisons are shown. */
  finalized?: boolean;
  problem?: string;
}

interface Generated {
  entry: RunListEntry;
  overview: RunOverview;
  iterations: Record<number, IterationData>;
  details: Record<string, AlgorithmDetail>;
  pairs: Record<string, PairDetail>;
}

function pickError(rand: () => number): (typeof ERRORS)[number] {
  const total = ERRORS.reduce((s, e) => s + e.weight, 0);
  let x = rand() * total;
  for (const e of ERRORS) if ((x -= e.weight) < 0) return e;
  return ERRORS[0];
}

export function generateRun(spec: RunSpec): Generated {
  const rand = seededRandom(spec.seed);
  const seedScore = onDevGrid(0.355);
  const baselineScore = onDevGrid(0.412);
  const candidateScore = onDevGrid(0.445);
  const iv = (s: number): [number, number] => [onDevGrid(s - 0.07 + normal(rand, 0, 0.004)), onDevGrid(s + 0.07 + normal(rand, 0, 0.004))];
  const iterations: Record<number, IterationData> = {};
  const overviews: IterationOverview[] = [];
  const details: Record<string, AlgorithmDetail> = {};
  const pairDetails: Record<string, PairDetail> = {};
  const codes = new Map<string, string>();
  let nextId = 1;
  let bestSoFar: ScorePoint | null = null;
  let controlBest: ScorePoint | null = null;
  const controlAll: number[] = [];

  spec.sizes.forEach((size, idx) => {
    const iteration = idx + 1;
    const last = idx === spec.sizes.length - 1;
    const temperature = Math.max(0.5, 1 - 0.1 * idx);
    const drift = 0.012 * Math.min(idx, 6);
    const rows: AlgorithmRow[] = [];
    for (let k = 0; k < size; k++) {
      const id = `a${String(nextId++).padStart(4, '0')}`;
      const r = recipe(rand);
      const failed = rand() < 0.08;
      const pending = !failed && spec.lastRunning === true && last && k >= size * 0.8;
      const row: AlgorithmRow = {
        id,
        iteration,
        status: failed ? 'failed' : pending ? 'pending' : 'ok',
        factoryVersion: iteration - 1,
        temperature,
        summary: r.summary,
        vetoed: false,
        edited: false,
        best: false,
      };
      if (failed) {
        const e = pickError(rand);
        row.errorClass = e.cls;
        row.message = e.message;
      } else if (!pending) {
        row.score = onDevGrid(normal(rand, 0.4 + drift, 0.08));
        row.interval = iv(row.score);
        row.vetoed = rand() < 0.015;
        row.edited = rand() < 0.02;
        if (rand() < 0.02 && rows.length > 0) row.reusedFrom = `${iteration}/${rows[Math.floor(rand() * rows.length)].id}`;
      }
      rows.push(row);
      if (spec.details) codes.set(`${iteration}/${id}`, codeOf(id, r));
    }
    const ok = rows.filter((r) => r.status === 'ok');
    const live = ok.filter((r) => !r.vetoed);
    const byScore = [...live].sort((x, y) => (y.score ?? 0) - (x.score ?? 0));
    const best = byScore[0];
    if (best) best.best = true;
    const bestPoint: ScorePoint | null = best ? { id: best.id, score: best.score!, interval: best.interval! } : null;
    if (bestPoint && (!bestSoFar || bestPoint.score > bestSoFar.score)) bestSoFar = { ...bestPoint, id: `${iteration}/${bestPoint.id}` };
    const prevBest = idx > 0 ? overviews[idx - 1].best : null;

    const controlScores = Array.from({ length: Math.max(3, Math.round(size / 10)) }, () => onDevGrid(normal(rand, 0.3, 0.1)));
    controlAll.push(...controlScores);
    for (const s of controlScores) if (!controlBest || s > controlBest.score) controlBest = { id: `control/${iteration}`, score: s, interval: iv(s) };

    // Pairs: the best against the worst, walking inwards; failures are the worst of all.
    const pairs: PairRow[] = [];
    if (!(spec.lastRunning && last)) {
      const worst = [...rows.filter((r) => r.status === 'failed' && !r.vetoed), ...[...byScore].reverse()];
      const nPairs = Math.max(1, Math.round(size / 8));
      for (let p = 0; p < nPairs && p < byScore.length && p < worst.length; p++) {
        const chosen = byScore[p];
        const rejected = worst[p];
        if (chosen === rejected || (rejected.score !== undefined && rejected.score >= chosen.score!)) break;
        const elitism = p === 0 && prevBest !== null && idx > 0;
        const chosenRef = elitism ? `${iteration - 1}/${prevBest!.id}` : `${iteration}/${chosen.id}`;
        const chosenScore = elitism ? prevBest!.score : chosen.score!;
        const rejectedScore = rejected.score ?? null;
        pairs.push({
          index: p,
          chosen: chosenRef,
          rejected: `${iteration}/${rejected.id}`,
          chosenScore,
          rejectedScore,
          margin: rejectedScore === null ? null : chosenScore - rejectedScore,
          why: elitism ? 'elitism: best of the previous iteration vs worst' : rejectedScore === null ? `best vs failed (${rejected.errorClass})` : `rank ${p + 1} best vs rank ${p + 1} worst`,
          vetoed: rand() < 0.05,
        });
      }
    }

    iterations[iteration] = {
      runId: spec.runId,
      iteration,
      temperature,
      factoryVersion: iteration - 1,
      algorithms: rows,
      pairs,
      controlScores,
      seed: seedScore,
      bestBaseline: baselineScore,
      bestCandidate: candidateScore,
      controlLabel: 'the unrefined generator (v0)',
      refinement: { mean: { difference: 0.032, low: -0.036, high: 0.099 }, top: { k: 3, difference: -0.031, low: -0.061, high: 0.024 } },
    };
    const scores = ok.filter((r) => !r.vetoed).map((r) => r.score!);
    overviews.push({
      iteration,
      temperature,
      algorithms: size,
      ok: ok.length,
      failed: rows.filter((r) => r.status === 'failed').length,
      meanScore: scores.length ? scores.reduce((s, v) => s + v, 0) / scores.length : null,
      best: bestPoint,
      bestSoFar,
      complete: !(spec.lastRunning && last),
    });

    if (spec.details) {
      const against = prevBest ? { ref: `${iteration - 1}/${prevBest.id}`, score: prevBest.score } : null;
      for (const row of rows) {
        const code = codes.get(`${iteration}/${row.id}`)!;
        const e = ERRORS.find((x) => x.cls === row.errorClass);
        details[`${spec.runId}/${iteration}/${row.id}`] = {
          runId: spec.runId,
          iteration,
          id: row.id,
          code,
          row,
          ...(e
            ? {
                error: {
                  errorClass: e.cls,
                  message: e.message,
                  detail: `Traceback (most recent call last):\n  File "runner.py", line 88, in run_one\n    delta = merge(task_vectors, name)\n  File "${row.id}.py", line 9, in merge\n${e.message}`,
                },
              }
            : {}),
          ...(against ? { diff: { against: against.ref, againstScore: against.score, lines: lineDiff(codes.get(against.ref)!, code) } } : {}),
          history: row.edited
            ? [
                { score: row.score !== undefined ? onDevGrid(row.score - 0.03) : null, status: 'ok', reason: 'first score', at: '2025-06-02T10:14:00Z', commit: '3f2a9c1', subject: `iteration ${iteration}: all 48 algorithms scored` },
                { score: row.score ?? null, status: row.status, reason: 'edit', at: '2025-06-02T11:40:00Z', commit: '9b04e77', subject: `edit ${row.id}: dev ${row.score !== undefined ? (100 * row.score).toFixed(1) : '-'}%` },
              ]
            : [{ score: row.score ?? null, status: row.status, reason: 'first score', at: '2025-06-02T10:14:00Z', commit: '3f2a9c1', subject: `iteration ${iteration}: all 48 algorithms scored` }],
        };
      }
      for (const p of pairs) {
        const side = (ref: string, score: number | null) => ({ ref, score, code: codes.get(ref) ?? `# ${ref}` });
        pairDetails[`${spec.runId}/${iteration}/${p.index}`] = {
          runId: spec.runId,
          iteration,
          index: p.index,
          chosen: side(p.chosen, p.chosenScore),
          rejected: side(p.rejected, p.rejectedScore),
          margin: p.margin,
          why: p.why,
          vetoed: p.vetoed,
          // The first iteration stands for one already refined with its pairs.
          ...(iteration === 1 ? { vetoLocked: `iteration 1 is already refined with these pairs; veto ${p.chosen} or ${p.rejected} to keep them out of later refinements` } : {}),
        };
      }
    }
  });

  return {
    entry: { id: spec.runId, name: spec.name, iterations: overviews.map((o) => o.iteration), running: spec.lastRunning ?? false, ...(spec.problem ? { problem: spec.problem } : {}) },
    overview: {
      runId: spec.runId,
      name: spec.name,
      branch: `selfdev/${spec.runId}`,
      iterations: overviews,
      seed: { id: 'seed', score: seedScore, interval: iv(seedScore) },
      bestBaseline: { id: 'baseline/ties-0.3', score: baselineScore, interval: iv(baselineScore) },
      control: { best: controlBest, meanScore: controlAll.length ? controlAll.reduce((s, v) => s + v, 0) / controlAll.length : null },
      bestCandidate: { id: 'candidate-2', score: candidateScore, interval: iv(candidateScore) },
      finalized: Boolean(spec.finalized),
      // An LLM factory refined after every iteration but the last (deferred).
      lineage: overviews.map((o, i) => {
        const last = i === overviews.length - 1;
        return {
          iteration: o.iteration,
          kind: 'llm' as const,
          wrote: i,
          version: last ? i : i + 1,
          status: last ? ('deferred' as const) : ('refined' as const),
          ...(last ? { reason: `iteration ${o.iteration} is the last planned one: its pairs refine the generator if the run continues` } : {}),
          pairs: 12 + i,
          pairsUsed: last ? 0 : 9 + i,
          loss: last ? null : ([0.6931, 0.41 - 0.05 * i] as [number, number]),
          rewardAccuracy: last ? null : 0.875,
          rewardMargin: last ? null : 0.52 + 0.1 * i,
          heldOut: last ? null : { pairs: 3, marginBefore: -4.2 + i, marginAfter: 1.3 + i, rewardAccuracy: 1, change: { difference: 5.5, low: 3.1, high: 7.9 } },
          ...(last ? {} : { weights: `${'0123456789ab'.slice(i)}${'cdef'.repeat(3)}`.slice(0, 12) }),
        };
      }),
      comparisons: spec.finalized
        ? {
            count: 3,
            rows: [
              { question: 'best discovered vs best baseline', a: '2/a0003', b: 'baseline-ties-DENSITY=0.3', difference: 0.052, low: 0.021, high: 0.083, p: 0.0005, pHolm: 0.0015 },
              { question: 'best discovered vs best candidate model', a: '2/a0003', b: 'candidate-2', difference: -0.031, low: -0.06, high: -0.002, p: 0.041, pHolm: 0.082 },
              { question: 'factory vs control, best by dev', a: '2/a0003', b: 'control-02-c0007', difference: 0.004, low: -0.02, high: 0.028, p: 0.74, pHolm: 0.74 },
            ],
          }
        : null,
      transfer: spec.finalized
        ? {
            sets: ['transfer'],
            rows: [
              { id: '2/a0003', cells: [0.302] },
              { id: 'baselines re-tuned on the set', cells: [0.478] },
            ],
          }
        : null,
    },
    iterations,
    details,
    pairs: pairDetails,
  };
}

export function fixtureOf(specs: RunSpec[]): PanelFixture {
  const fx: PanelFixture = { runs: [], overviews: {}, iterations: {}, details: {}, pairs: {} };
  for (const spec of specs) {
    const g = generateRun(spec);
    fx.runs.push(g.entry);
    fx.overviews[spec.runId] = g.overview;
    fx.iterations[spec.runId] = g.iterations;
    Object.assign(fx.details, g.details);
    Object.assign(fx.pairs, g.pairs);
  }
  return fx;
}

/** What a researcher sees after the demo: 3 iterations, the last one still being scored. */
export function demoFixture(): PanelFixture {
  return fixtureOf([
    { runId: 'demo', name: 'demo', sizes: [48, 48, 48], seed: 7, details: true, lastRunning: true },
    { runId: 'gsm-7b-ties', name: 'gsm-7b-ties', sizes: [300, 300, 300], seed: 11, details: true, finalized: true },
  ]);
}

/** No runs yet. */
export const emptyFixture = (): PanelFixture => ({ runs: [], overviews: {}, iterations: {}, details: {}, pairs: {} });

/**
 * One run whose iterations cycle through the sizes, so that stepping to the next iteration
 * renders a fresh one of each size in turn (sizes measured side by side, in the same page).
 */
export function benchFixture(sizes: number[], rounds: number): PanelFixture {
  const all: number[] = [];
  for (let r = 0; r < rounds; r++) all.push(...sizes);
  return fixtureOf([{ runId: 'bench', name: 'bench', sizes: all, seed: 2024, details: false }]);
}
