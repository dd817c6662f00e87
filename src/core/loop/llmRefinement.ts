// The refine step of the LLM factory: iteration t's preference pairs become DPO data in TRL's
// format (written into the run), and the backend trains a LoRA adapter on the current generator
// with them (TRL + PEFT), publishing the merged weights as a content-hashed artifact outside git.
// The record it returns goes into factory.json; the loop writes it only after the artifact is
// complete, so a killed trainer never leaves a generator the next iteration would use.
import type { PreferenceRow, RefineProgressParams } from '../../protocol/backend';
import { dpoHyperparameters, type LlmFactoryConfig } from '../config/runConfig';
import type { DpoDataRecord, LlmRefinement, RefinedWeights } from '../factory/llmFactoryRecord';
import { normaliseCode } from '../factory/normaliseCode';
import { completionText, preferenceJsonl, sha256, splitByRejected } from '../factory/preferenceData';
import { algorithmFile, dpoHeldOutFile, dpoTrainFile, parseAlgorithmRef, promptFile } from '../run/layout';
import { codeHash, type PairRecord } from '../run/records';
import type { RunContext } from './context';
import { generatorSpec } from './llmGeneration';
import type { ScoringDeps } from './scorer';

export interface RefineDeps extends ScoringDeps {
  /** Python with TRL and PEFT on the backend's machine (the backend's default when absent). */
  trainPython?: string;
  log?: (line: string) => void;
}

/** The text each algorithm of the pairs stands for in DPO data (completionText), by reference. */
async function completionTexts(ctx: RunContext, refs: Iterable<string>): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const byIteration = new Map<number, string[]>();
  for (const ref of refs) {
    const r = parseAlgorithmRef(ref);
    if (r) byIteration.set(r.iteration, [...(byIteration.get(r.iteration) ?? []), r.id]);
  }
  for (const [s, ids] of byIteration) {
    const completions = new Map((await ctx.files.completions(s)).map((c) => [c.id, c.text]));
    const samples = new Map((await ctx.files.samples(s)).map((x) => [x.id, x]));
    for (const id of ids) {
      const raw = completions.get(id);
      const file = await ctx.files.read(algorithmFile(s, id));
      const sample = samples.get(id);
      if (raw === undefined || file === undefined || !sample) continue;
      out.set(`${s}/${id}`, completionText(raw, file, codeHash(normaliseCode(file)) !== sample.codeHash));
    }
  }
  return out;
}

/** Writes iteration t's DPO data (dpo/train.jsonl, dpo/heldout.jsonl) and returns it. */
export async function writeDpoData(ctx: RunContext, f: LlmFactoryConfig, t: number, pairs: readonly PairRecord[]): Promise<{ record: DpoDataRecord; train: PreferenceRow[]; heldOut: PreferenceRow[] }> {
  const prompt = await ctx.files.read(promptFile(t));
  if (prompt === undefined) throw new Error(`${ctx.run.path(promptFile(t))} is missing: restore it with git (git checkout -- ${promptFile(t)})`);
  const texts = await completionTexts(ctx, pairs.flatMap((p) => [p.chosen, p.rejected]));
  const usable = pairs.filter((p) => texts.has(p.chosen) && texts.has(p.rejected));
  const split = splitByRejected(usable, f.refine.heldOut, ctx.config.randomSeed);
  // Every pair of iteration t is answered under iteration t's prompt: an elite chosen from an
  // earlier iteration stands as what the generator should have written for it.
  const rows = (ps: readonly PairRecord[]) => ps.map((p) => ({ prompt, chosen: texts.get(p.chosen)!, rejected: texts.get(p.rejected)! }));
  const train = rows(split.train);
  const heldOut = rows(split.heldOut);
  const trainText = preferenceJsonl(train);
  const heldOutText = preferenceJsonl(heldOut);
  await ctx.run.write(dpoTrainFile(t), trainText);
  await ctx.run.write(dpoHeldOutFile(t), heldOutText);
  return {
    record: {
      train: { file: dpoTrainFile(t), rows: train.length, sha256: sha256(trainText) },
      heldOut: { file: dpoHeldOutFile(t), rows: heldOut.length, sha256: sha256(heldOutText) },
      trainPairs: split.train.map((p) => `${p.chosen}>${p.rejected}`),
      heldOutPairs: split.heldOut.map((p) => `${p.chosen}>${p.rejected}`),
      skipped: pairs.length - usable.length,
    },
    train,
    heldOut,
  };
}

/** Why this configuration cannot refine its generator, or undefined when it can. */
export function notRefinable(f: LlmFactoryConfig): string | undefined {
  if (f.generator.kind === 'openai' && !f.refine.baseModel) {
    return `the generator is the server at ${f.generator.baseUrl} (model ${f.generator.model}), whose weights the backend cannot reach: set factory.refine.baseModel to the served model's Hugging Face folder on the backend's machine to refine it (docs/LLM_FACTORY.md)`;
  }
  return undefined;
}

/**
 * Refines the generator of version `version` (weights: its artifact, or null for the configured
 * model) on iteration t's pairs. Returns the refinement record (refined, or why not).
 */
export async function refineLlmFactory(
  ctx: RunContext,
  f: LlmFactoryConfig,
  t: number,
  pairs: readonly PairRecord[],
  current: { version: number; weights: RefinedWeights | null },
  deps: RefineDeps,
): Promise<LlmRefinement> {
  const data = await writeDpoData(ctx, f, t, pairs);
  if (!f.refine.enabled) return { status: 'disabled', reason: 'factory.refine.enabled is false: the pairs are written (dpo/) and the generator is not refined', data: data.record };
  const why = notRefinable(f);
  if (why) return { status: 'not-refined', reason: why, data: data.record };
  if (!data.train.length) return { status: 'skipped', reason: 'no preference pairs to train on', data: data.record };
  if (!deps.backend) throw new Error('no backend: refining the LLM factory trains on a backend');

  const hyperparameters = dpoHyperparameters(f.refine, ctx.config.randomSeed);
  const device = f.refine.device;
  // Version 0 is the configured model: the engine's folder, or the served model's (baseModel).
  const base = current.weights ? { artifact: current.weights.artifact } : { model: f.generator.kind === 'openai' ? f.refine.baseModel! : generatorSpec(ctx, f).model };
  const jobId = `${ctx.header.id}/refine/${t}/${sha256(JSON.stringify([base, hyperparameters, device, data.record.train.sha256, data.record.heldOut.sha256])).slice(0, 16)}`;
  const result = await deps.backend.refine(
    { jobId, base, train: data.train, heldOut: data.heldOut, hyperparameters, device, artifact: `${ctx.header.id}/factory/v${current.version + 1}`, ...(deps.trainPython ? { python: deps.trainPython } : {}) },
    { signal: ctx.signal, onProgress: (p: RefineProgressParams) => ctx.emit({ type: 'refining', iteration: t, progress: p }) },
  );
  return {
    status: 'refined',
    data: data.record,
    hyperparameters,
    metrics: result.metrics,
    weights: { artifact: result.artifact, hash: result.weightHash, adapterHash: result.adapterHash },
    base,
    timings: result.timings,
  };
}
