// The generate step of the LLM factory: render the prompt, sample the completions through the
// backend (where the model or the endpoint is), keep every raw completion, extract the code, and
// write one algorithm per completion. A completion without code becomes an algorithm too, failed
// as `no_code`, whose file holds the completion as comments (a person can turn it into code and
// have it scored). Code generated before (normalised) is noted as a duplicate; the scorer then
// reuses its result instead of scoring it again.
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import type { GenerateParams, GenerateResult, GeneratorSpec } from '../../protocol/backend';
import type { LlmFactoryConfig } from '../config/runConfig';
import { extractAlgorithm } from '../factory/extractCode';
import { normaliseCode } from '../factory/normaliseCode';
import { type PromptExample, renderPrompt } from '../factory/prompt';
import { summariseCode } from '../factory/summariseCode';
import { algorithmFile, algorithmId, algorithmRef, completionsFile, controlCompletionsFile, controlFile, controlId, generationFile, promptFile, samplesFile } from '../run/layout';
import { codeHash, type CompletionRecord, type SampleRecord, type ScoredRecord } from '../run/records';
import type { RunContext } from './context';
import type { ScoreJob, ScoringDeps } from './scorer';

export const NO_CODE_MESSAGE = 'The completion holds no code: no fenced block and no def merge.';

export interface LlmGenerationDeps extends ScoringDeps {
  /** resources/algorithms (the default worked example). */
  algorithmsDir?: string;
  /** resources/prompts (the default prompt template). */
  promptsDir?: string;
}

/** The generator a job runs: `model: "seed"` is the run's seed model (the paper's setting);
 * `weights`, a refined version's artifact on the backend. */
export function generatorSpec(ctx: RunContext, f: LlmFactoryConfig, weights?: string): GeneratorSpec {
  const g = f.generator;
  if (g.kind === 'engine') return { kind: 'engine', model: g.model === 'seed' ? ctx.config.seed : g.model, chat: g.chat, ...(weights ? { weights } : {}) };
  return { ...g, ...(weights ? { weights } : {}) };
}

async function readText(file: string, what: string): Promise<string> {
  try {
    return await fs.readFile(file, 'utf8');
  } catch (err) {
    throw new Error(`${what} ${file} cannot be read: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'file not found' : (err as Error).message}`);
  }
}

/** The template and worked example in force (the config's, else this installation's). */
export async function promptSources(f: LlmFactoryConfig, deps: LlmGenerationDeps): Promise<{ template: string; templateFile: string; workedExample: string; workedExampleFile: string }> {
  const templateFile = f.prompt ?? (deps.promptsDir ? path.join(deps.promptsDir, 'paper.md') : undefined);
  const workedExampleFile = f.workedExample ?? (deps.algorithmsDir ? path.join(deps.algorithmsDir, 'worked_example.py') : undefined);
  if (!templateFile || !workedExampleFile) throw new Error('no prompt template: set factory.prompt and factory.workedExample, or run from an installation with resources/');
  return { template: await readText(templateFile, 'the prompt template'), templateFile, workedExample: await readText(workedExampleFile, 'the worked example'), workedExampleFile };
}

/** The best `k` distinct algorithms of earlier iterations that are in force (not vetoed). */
async function bestEarlier(ctx: RunContext, t: number, k: number): Promise<PromptExample[]> {
  if (k === 0) return [];
  const vetoes = await ctx.files.vetoes();
  const all: ScoredRecord[] = [];
  for (let i = 1; i < t; i++) all.push(...(await ctx.files.results(i)));
  const seen = new Set<string>();
  const out: PromptExample[] = [];
  for (const r of all.filter((r) => r.status === 'ok' && r.kind === 'generated' && !vetoes.hasAlgorithm(r.iteration, r.id)).sort((a, b) => b.score! - a.score! || a.iteration - b.iteration || a.id.localeCompare(b.id))) {
    if (out.length >= k) break;
    if (r.codeHash && seen.has(r.codeHash)) continue;
    if (r.codeHash) seen.add(r.codeHash);
    const code = r.file ? await ctx.files.read(r.file) : undefined;
    if (code) out.push({ ref: algorithmRef(r.iteration, r.id), score: r.score!, code });
  }
  return out;
}

/** The completion as a Python file of comments, for a completion with no code. */
export function commentedCompletion(text: string, detail: string): string {
  return [`# ${NO_CODE_MESSAGE}`, `# ${detail}`, '# The completion, as the factory wrote it:', '#', ...text.split(/\r\n?|\n/).map((l) => (l ? `# ${l}` : '#')), ''].join('\n');
}

/** Code hashes of everything the run generated before iteration t, by reference. */
async function earlierCode(ctx: RunContext, t: number): Promise<Map<string, string>> {
  const map = new Map<string, string>();
  for (let i = 1; i < t; i++) for (const s of await ctx.files.samples(i)) if (!s.noCode && !map.has(s.codeHash)) map.set(s.codeHash, algorithmRef(i, s.id));
  return map;
}

/** Iteration t's prompt: the template with the worked example and the best earlier algorithms. */
export async function renderLlmPrompt(ctx: RunContext, f: LlmFactoryConfig, t: number, deps: LlmGenerationDeps): Promise<{ prompt: string; sources: Awaited<ReturnType<typeof promptSources>>; examples: PromptExample[] }> {
  const sources = await promptSources(f, deps);
  const examples = await bestEarlier(ctx, t, f.examples);
  return { prompt: renderPrompt(sources.template, { workedExample: sources.workedExample, examples }), sources, examples };
}

/** Samples the iteration's completions from `generator`. The job id covers everything that
 * shapes the draw, so the same draw asked twice (the control at version 0) is one job. */
async function sampleCompletions(ctx: RunContext, f: LlmFactoryConfig, t: number, temperature: number, generator: GeneratorSpec, prompt: string, deps: LlmGenerationDeps, onProgress?: (done: number, total: number) => void): Promise<{ result: GenerateResult; sampling: GenerateParams['sampling'] }> {
  if (!deps.backend) throw new Error('no backend: the LLM factory generates through a backend');
  const c = ctx.config;
  const sampling = { temperature, topP: f.topP, maxTokens: f.maxTokens, seed: c.randomSeed * 1000 + t, stop: f.stop };
  const result: GenerateResult = await deps.backend.generate(
    { jobId: `${ctx.header.id}/generate/${t}/${codeHash(prompt + JSON.stringify([generator, sampling, c.algorithmsPerIteration]))}`, generator, prompt, n: c.algorithmsPerIteration, sampling, executionProvider: deps.executionProvider, threads: deps.threads },
    { signal: ctx.signal, onProgress: (p) => onProgress?.(p.done, p.total) },
  );
  if (result.completions.length !== c.algorithmsPerIteration) throw new Error(`the generator returned ${result.completions.length} completions, ${c.algorithmsPerIteration} were asked for`);
  return { result, sampling };
}

export async function generateWithLlm(ctx: RunContext, f: LlmFactoryConfig, t: number, temperature: number, deps: LlmGenerationDeps & { factoryVersion: number; weights?: string }): Promise<SampleRecord[]> {
  const c = ctx.config;
  const { prompt, sources, examples } = await renderLlmPrompt(ctx, f, t, deps);
  const generator = generatorSpec(ctx, f, deps.weights);
  const { result, sampling } = await sampleCompletions(ctx, f, t, temperature, generator, prompt, deps, (done, total) => ctx.emit({ type: 'generating', iteration: t, done, total }));

  const before = await earlierCode(ctx, t);
  const samples: SampleRecord[] = [];
  const completions: CompletionRecord[] = [];
  for (const comp of result.completions) {
    const id = algorithmId(comp.index + 1);
    const x = extractAlgorithm(comp.text);
    const record: CompletionRecord = {
      id,
      index: comp.index,
      text: comp.text,
      finishReason: comp.finishReason,
      ...(comp.promptTokens !== undefined ? { promptTokens: comp.promptTokens } : {}),
      ...(comp.completionTokens !== undefined ? { completionTokens: comp.completionTokens } : {}),
      ...(comp.seed !== undefined ? { seed: comp.seed } : {}),
      sampling: { temperature, topP: f.topP, maxTokens: f.maxTokens, stop: f.stop },
      model: result.model,
      extraction: x.ok ? { ok: true, from: x.from, blocks: x.blocks, chosen: x.chosen, truncated: x.truncated, definesMerge: x.definesMerge, normalised: x.normalised } : { ok: false, failure: x.failure, detail: x.detail },
    };
    let file: string;
    if (x.ok) {
      file = x.code;
      const hash = codeHash(normaliseCode(x.code));
      const dup = before.get(hash);
      if (dup) record.duplicateOf = dup;
      else before.set(hash, algorithmRef(t, id));
      samples.push({ id, completion: comp.index, codeHash: hash, summary: summariseCode(x.code, comp.text) });
    } else {
      file = commentedCompletion(comp.text, x.detail);
      samples.push({ id, completion: comp.index, codeHash: codeHash(normaliseCode(file)), summary: 'no code in the completion', noCode: { detail: x.detail } });
    }
    completions.push(record);
    await ctx.run.write(algorithmFile(t, id), file);
  }
  await ctx.run.write(promptFile(t), result.promptText);
  await ctx.run.write(completionsFile(t), completions.map((r) => JSON.stringify(r)).join('\n') + '\n');
  await ctx.run.write(
    generationFile(t),
    JSON.stringify(
      {
        factory: { kind: 'llm', version: deps.factoryVersion, ...(deps.weights ? { weights: deps.weights } : {}) },
        generator: generator.kind === 'engine' ? { ...generator, model: path.basename(generator.model) } : { ...generator },
        model: result.model,
        chat: result.chat,
        promptTemplate: path.basename(sources.templateFile),
        workedExample: path.basename(sources.workedExampleFile),
        examples: examples.map((e) => ({ ref: e.ref, score: e.score })),
        sampling,
        n: c.algorithmsPerIteration,
        withCode: samples.filter((s) => !s.noCode).length,
        duplicates: completions.filter((r) => r.duplicateOf).length,
        timings: result.timings,
      },
      null,
      1,
    ) + '\n',
  );
  // Written last: its presence means the generate step finished.
  await ctx.run.write(samplesFile(t), samples.map((s) => JSON.stringify(s)).join('\n') + '\n');
  return samples;
}

/**
 * The control of an LLM run: the unrefined generator (version 0) with the same prompt, sampling
 * and seed as the factory's iteration t, so factory against control measures what refinement
 * changed and nothing else. At version 0 it is the factory's own draw (one job). Writes the
 * control's files and raw completions; returns its scoring jobs.
 */
export async function generateLlmControl(ctx: RunContext, f: LlmFactoryConfig, t: number, temperature: number, deps: LlmGenerationDeps): Promise<ScoreJob[]> {
  const { prompt } = await renderLlmPrompt(ctx, f, t, deps);
  const { result } = await sampleCompletions(ctx, f, t, temperature, generatorSpec(ctx, f), prompt, deps);
  const jobs: ScoreJob[] = [];
  const records: { id: string; index: number; text: string; finishReason: string; extraction: string; model: string }[] = [];
  for (const comp of result.completions) {
    const id = controlId(t, comp.index + 1);
    const file = controlFile(id);
    const x = extractAlgorithm(comp.text);
    const code = x.ok ? x.code : commentedCompletion(comp.text, x.detail);
    if ((await ctx.files.read(file)) === undefined) await ctx.run.write(file, code);
    const extra = { kind: 'control' as const, summary: x.ok ? summariseCode(x.code, comp.text) : 'no code in the completion', temperature, factoryVersion: 0 };
    jobs.push(x.ok ? { id, file, source: code, extra } : { id, file, source: code, extra, failure: { errorClass: 'no_code', message: NO_CODE_MESSAGE, detail: x.detail } });
    records.push({ id, index: comp.index, text: comp.text, finishReason: comp.finishReason, extraction: x.ok ? x.from : 'no_code', model: result.model });
  }
  await ctx.run.write(controlCompletionsFile(t), records.map((r) => JSON.stringify(r)).join('\n') + '\n');
  return jobs;
}
