// A generation job of the LLM factory, on the generator its parameters name.
import { generateWithEngine } from '../engine/generators/engineGenerator';
import { generateWithOpenAi } from '../engine/generators/openaiGenerator';
import type { GenerateParams, GenerateProgressParams, GenerateResult } from '../protocol/backend';

export async function runGenerateJob(params: GenerateParams, signal: AbortSignal, onProgress: (p: GenerateProgressParams) => void): Promise<GenerateResult> {
  if (!Number.isInteger(params.n) || params.n < 1) throw new Error(`n must be a whole number >= 1, got ${params.n}`);
  const progress = (done: number, total: number) => onProgress({ jobId: params.jobId, phase: 'generate', done, total });
  const g = params.generator;
  switch (g.kind) {
    case 'engine':
      return generateWithEngine({ ...params, generator: g }, signal, progress);
    case 'openai':
      return generateWithOpenAi({ ...params, generator: g }, { signal, onProgress: progress });
    default:
      throw new Error(`unknown generator kind ${JSON.stringify((g as { kind: unknown }).kind)}`);
  }
}
