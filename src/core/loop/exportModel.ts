// selfdev export model: which algorithm a reference names, what the export job needs to make
// its merge again exactly as it was scored, and what the checkpoint says about itself (the model
// card and the provenance file). Every figure comes from the run's files.
import { createHash } from 'node:crypto';
import * as path from 'node:path';
import type { ExportModelParams, ExportModelResult, ExportProgressParams } from '../../protocol/backend';
import { pct, pctInterval } from '../format';
import { algorithmFile, parseAlgorithmRef } from '../run/layout';
import type { ScoredRecord } from '../run/records';
import { baselineVariants } from './baselines';
import type { RunContext } from './context';
import type { Scorer } from './scorer';
import { bestSoFar, summariseRun, type RunSummary } from './summary';

/** The file in an exported checkpoint that says where it came from. */
export const PROVENANCE_FILE = 'selfdev-export.json';

export interface ExportTarget {
  /** The reference as the user can type it again: 2/a0003, a baseline or control id. */
  ref: string;
  record: ScoredRecord;
  source: string;
  constants?: Record<string, number | string | boolean | null>;
}

/**
 * The algorithm `ref` names: "T/aNNNN" (generated), "best" (the best generated algorithm so far,
 * vetoed ones left out), a baseline variant id, or a control program id. Only a merge that
 * scored can be exported.
 */
export async function resolveExportTarget(ctx: RunContext, ref: string, algorithmsDir: string, summary: RunSummary): Promise<ExportTarget> {
  const id = ctx.header.id;
  let record: ScoredRecord | undefined;
  let source: string | undefined;
  let constants: ExportTarget['constants'];
  let resolved = ref;
  if (ref === 'best') {
    const best = bestSoFar(summary);
    if (!best) throw new Error(`run ${id} has no successfully scored algorithm to export`);
    resolved = best.ref;
  }
  const parsed = parseAlgorithmRef(resolved);
  if (parsed) {
    record = (await ctx.files.results(parsed.iteration)).find((r) => r.id === parsed.id);
  } else if (ref.startsWith('baseline-') || ref.startsWith('control-')) {
    record = (await ctx.files.baselines()).find((r) => r.id === ref);
  }
  if (!record) throw new Error(`run ${id} has no algorithm ${ref} (use iteration/id such as 1/a0003, "best", a baseline id or a control id)`);
  if (record.kind === 'baseline') {
    const variant = (await baselineVariants(algorithmsDir)).find((v) => v.id === record!.id);
    if (!variant) throw new Error(`baseline ${ref} is not one of this installation's baseline variants`);
    source = variant.source;
    constants = variant.constants;
  } else {
    const file = record.file ?? (parsed ? algorithmFile(parsed.iteration, parsed.id) : undefined);
    source = file ? await ctx.files.read(file) : undefined;
    if (source === undefined) throw new Error(`run ${id}: the code of ${resolved} (${file ?? 'no file'}) is missing from the run`);
  }
  if (record.status !== 'ok') throw new Error(`${resolved} failed when it was scored (${record.errorClass ?? 'failed'}: ${record.message ?? ''}); there is no merged model to export`);
  return { ref: resolved, record, source, constants };
}

/** What the checkpoint knows of itself (selfdev-export.json). */
export interface ExportProvenance {
  run: string;
  runName: string;
  ref: string;
  kind: ScoredRecord['kind'];
  iteration: number;
  codeHash?: string;
  /** SHA-256 of the code as applied (with its constants). */
  algorithmSha256: string;
  constants?: ExportTarget['constants'];
  runBranch: string;
  runCommit: string;
  /** The run's worktree had changes not committed yet when the export was made. */
  uncommittedChanges: boolean;
  seed: string;
  candidates: string[];
  mergeScope: string;
  tensorLibrary: string;
  randomSeed: number;
  dev: { score: number; interval: [number, number]; scores: Record<string, number> };
  test: { score: number; interval: [number, number] } | null;
  /** Whether the merge made for the export was checked against the statistics recorded when it
   * was scored (records written before this check existed have none). */
  reproducibilityChecked: boolean;
  exportedAt: string;
  selfdevVersion: string;
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** The sealed-test entry of the target, when it was a finalist or a reference. */
function sealedTest(summary: RunSummary, ref: string, record: ScoredRecord): ExportProvenance['test'] {
  const s = summary.sealedTest;
  if (!s) return null;
  const entry = [...s.finalists, ...s.control, ...s.references].find((e) => e.id === ref || e.id === record.id);
  return entry && entry.test !== null && entry.interval ? { score: entry.test, interval: entry.interval } : null;
}

export function provenanceOf(ctx: RunContext, target: ExportTarget, summary: RunSummary, head: { commit: string; dirty: boolean }, version: string, now = new Date()): ExportProvenance {
  const c = ctx.config;
  const r = target.record;
  return {
    run: ctx.header.id,
    runName: ctx.header.name,
    ref: target.ref,
    kind: r.kind,
    iteration: r.iteration,
    ...(r.codeHash ? { codeHash: r.codeHash } : {}),
    algorithmSha256: sha256(target.source + (target.constants ? JSON.stringify(target.constants) : '')),
    ...(target.constants ? { constants: target.constants } : {}),
    runBranch: ctx.run.branch,
    runCommit: head.commit,
    uncommittedChanges: head.dirty,
    seed: c.seed,
    candidates: c.candidates,
    mergeScope: c.mergeScope,
    tensorLibrary: c.tensorLibrary,
    randomSeed: c.randomSeed,
    dev: { score: r.score!, interval: r.interval!, scores: r.scores ?? {} },
    test: sealedTest(summary, target.ref, r),
    reproducibilityChecked: Boolean(r.deltaStats),
    exportedAt: now.toISOString(),
    selfdevVersion: version,
  };
}

/** The model card: how the model was made and how it scored, with intervals. */
export function modelCard(p: ExportProvenance, source: string, summary: RunSummary): string {
  const seedName = path.basename(p.seed);
  const lines = [
    '---',
    'library_name: transformers',
    'tags:',
    '  - merge',
    '  - model-merging',
    '  - selfdev',
    '---',
    '',
    `# ${seedName} merged by ${p.ref} (run ${p.run})`,
    '',
    `This model is the seed model \`${seedName}\` with the task vectors of ${p.candidates.length} candidate model(s) merged into it by a model-merging algorithm that the Self-Developing loop ${p.kind === 'generated' ? `generated in iteration ${p.iteration}` : p.kind === 'baseline' ? 'ran as a baseline' : 'ran as a random-program control'}.`,
    '',
    '## How it was made',
    '',
    `- Seed: \`${seedName}\``,
    `- Candidates: ${p.candidates.map((c) => `\`${path.basename(c)}\``).join(', ')}`,
    `- Merge scope (parameter names): \`${p.mergeScope}\`; the other tensors are the seed's`,
    `- Algorithm: ${p.ref}${p.constants ? ` with ${Object.entries(p.constants).map(([k, v]) => `${k}=${v}`).join(', ')}` : ''}, code SHA-256 \`${p.algorithmSha256.slice(0, 16)}\`, applied with ${p.tensorLibrary} and random seed ${p.randomSeed}`,
    `- Run: \`${p.run}\` ("${p.runName}"), branch \`${p.runBranch}\` at commit \`${p.runCommit.slice(0, 12)}\`${p.uncommittedChanges ? ' (with changes not committed yet)' : ''}`,
    `- Reproduced: ${p.reproducibilityChecked ? 'the merge made for this export has the statistics recorded when it was scored' : 'not checked (the score record predates merge statistics)'}`,
    '',
    '## Scores',
    '',
    '| split | score | 95% interval |',
    '| --- | --- | --- |',
    `| dev (mean over benchmarks) | ${pct(p.dev.score)} | ${pctInterval(...p.dev.interval)} |`,
    ...Object.entries(p.dev.scores).map(([b, s]) => `| dev: ${b} | ${pct(s)} | |`),
    p.test ? `| sealed test | ${pct(p.test.score)} | ${pctInterval(...p.test.interval)} |` : '| sealed test | not scored (not a finalist, or the run is not finalized) | |',
    '',
  ];
  const refs = [
    summary.seed && `the seed ${pct(summary.seed.score)} ${pctInterval(...summary.seed.interval)}`,
    summary.bestBaseline && `the best baseline (${summary.bestBaseline.id}) ${pct(summary.bestBaseline.score)} ${pctInterval(...summary.bestBaseline.interval)}`,
    summary.bestCandidate && `the best candidate as it is (${summary.bestCandidate.id}) ${pct(summary.bestCandidate.score)}`,
  ].filter(Boolean);
  if (refs.length) lines.push(`On the same dev split: ${refs.join('; ')}.`, '');
  lines.push(
    'Intervals are 95% stratified bootstrap intervals over the benchmark items. Dev scores chose this algorithm, so they are optimistic; the sealed test score is not.',
    '',
    '## The algorithm',
    '',
    '```python',
    source.trimEnd(),
    '```',
    '',
    `Made with Self-Developing ${p.selfdevVersion} on ${p.exportedAt.slice(0, 10)}; \`${PROVENANCE_FILE}\` holds the same facts as JSON.`,
    '',
  );
  return lines.join('\n');
}

/** Safetensors metadata: strings only. */
export function weightMetadata(p: ExportProvenance): Record<string, string> {
  return {
    'selfdev.run': p.run,
    'selfdev.algorithm': p.ref,
    'selfdev.algorithm_sha256': p.algorithmSha256,
    'selfdev.candidates': JSON.stringify(p.candidates.map((c) => path.basename(c))),
    'selfdev.run_commit': p.runCommit,
  };
}

export interface ExportModelOptions {
  out: string;
  maxShardBytes?: number;
  version: string;
  onProgress?: (p: ExportProgressParams) => void;
}

/** Makes the export job of `ref` and runs it on the backend. */
export async function exportModel(ctx: RunContext, scorer: Scorer, ref: string, algorithmsDir: string, o: ExportModelOptions): Promise<ExportModelResult & { provenance: ExportProvenance }> {
  const summary = await summariseRun(ctx.files, ctx.header);
  const target = await resolveExportTarget(ctx, ref, algorithmsDir, summary);
  const provenance = provenanceOf(ctx, target, summary, await ctx.run.head(), o.version);
  const base = scorer.params();
  const params: ExportModelParams = {
    // One id per export asked for: a resubmission after a dropped connection finds it in the
    // backend's journal; asking again (after deleting the folder, say) makes it anew.
    jobId: `${ctx.header.id}/export/${provenance.algorithmSha256.slice(0, 16)}/${sha256(`${o.out}\n${provenance.exportedAt}`).slice(0, 12)}`,
    models: base.models,
    algorithm: { source: target.source, ...(target.constants ? { constants: target.constants } : {}) },
    limits: base.limits,
    randomSeed: base.randomSeed,
    python: base.python,
    allowUnisolated: base.allowUnisolated,
    out: o.out,
    ...(o.maxShardBytes ? { maxShardBytes: o.maxShardBytes } : {}),
    metadata: weightMetadata(provenance),
    card: modelCard(provenance, target.source, summary),
    extraFiles: { [PROVENANCE_FILE]: `${JSON.stringify(provenance, null, 2)}\n` },
    ...(target.record.deltaStats ? { expectDeltaStats: target.record.deltaStats } : {}),
  };
  const result = await scorer.backend.exportModel(params, { signal: ctx.signal, onProgress: o.onProgress });
  return { ...result, provenance };
}
