// A generation job of the LLM factory, on the generator its parameters name (a refined one's
// weights are an artifact of this backend).
import { generateWithEngine } from '../engine/generators/engineGenerator';
import { generateWithOpenAi } from '../engine/generators/openaiGenerator';
import type { GenerateParams, GenerateProgressParams, GenerateResult } from '../protocol/backend';
import { refinedModelFolder } from './refinement';

export async function runGenerateJob(params: GenerateParams, signal: AbortSignal, onProgress: (p: GenerateProgressParams) => void, artifactsDir?: string): Promise<GenerateResult> {
  if (!Number.isInteger(params.n) || params.n < 1) throw new Error(`n must be a whole number >= 1, got ${params.n}`);
  const progress = (done: number, total: number) => onProgress({ jobId: params.jobId, phase: 'generate', done, total });
  // A refined generator's weights are an artifact of this backend: its merged folder is the model.
  const g = params.generator.weights ? { ...params.generator, model: await refinedModelFolder(artifactsDir, params.generator.weights) } : params.generator;
  switch (g.kind) {
    case 'engine':
      return generateWithEngine({ ...params, generator: g }, signal, progress);
    case 'openai':
      return generateWithOpenAi({ ...params, generator: g }, { signal, onProgress: progress });
    default:
      throw new Error(`unknown generator kind ${JSON.stringify((g as { kind: unknown }).kind)}`);
  }
}
