// The LLM factory on the project's own engine: a local model folder sampled with onnxruntime,
// the prompt wrapped in the model's chat template when it has one (as transformers'
// apply_chat_template renders it; the template carries the special tokens, so the text is then
// encoded without adding more), else encoded as plain text with the tokenizer's own specials.
import * as path from 'node:path';
import type { Completion, EngineGenerator, GenerateParams, GenerateResult } from '../../protocol/backend';
import { applyChatTemplate, chatTemplateOf } from '../inference/chatTemplate';
import { generate } from '../inference/generate';
import { createDecoderSession, type ExecutionProvider } from '../inference/session';
import { openHfModel } from '../model/hfModel';
import { ModelError } from '../model/errors';
import { loadTokenizer, type TextTokenizer } from '../model/tokenizer';

/** The exact prompt text and its token ids for a model. */
export function encodePrompt(tokenizer: Pick<TextTokenizer, 'encode' | 'config'>, prompt: string, chat: EngineGenerator['chat']): { text: string; ids: number[]; chat: boolean } {
  if (chat === 'auto' && chatTemplateOf(tokenizer.config) !== undefined) {
    const text = applyChatTemplate(tokenizer.config, [{ role: 'user', content: prompt }], { addGenerationPrompt: true });
    return { text, ids: tokenizer.encode(text, false), chat: true };
  }
  return { text: prompt, ids: tokenizer.encode(prompt, true), chat: false };
}

export async function generateWithEngine(
  params: GenerateParams & { generator: EngineGenerator },
  signal?: AbortSignal,
  onProgress?: (done: number, total: number) => void,
): Promise<GenerateResult> {
  const started = performance.now();
  const model = await openHfModel(params.generator.model);
  const tokenizer = await loadTokenizer(model.folder, model.config.vocabSize);
  const prompt = encodePrompt(tokenizer, params.prompt, params.generator.chat);
  const s = params.sampling;
  const context = prompt.ids.length + s.maxTokens;
  if (prompt.ids.length >= model.config.maxPositionEmbeddings) {
    throw new ModelError(model.folder, `the prompt is ${prompt.ids.length} tokens, the model takes at most ${model.config.maxPositionEmbeddings}: shorten the prompt template or leave out the examples`);
  }
  const maxNewTokens = Math.min(s.maxTokens, model.config.maxPositionEmbeddings - prompt.ids.length);
  const session = await createDecoderSession(model, { executionProvider: params.executionProvider as ExecutionProvider | undefined, threads: params.threads, maxContext: Math.min(context, model.config.maxPositionEmbeddings) });
  try {
    const { outputs, stats } = await generate(session, tokenizer, Array.from({ length: params.n }, () => prompt.ids), {
      maxNewTokens,
      stop: s.stop,
      sampling: { temperature: s.temperature, topP: s.topP, seed: s.seed },
      signal,
      onProgress,
    });
    const completions: Completion[] = outputs.map((o, index) => ({
      index,
      text: o.text,
      finishReason: o.stopReason === 'length' ? 'length' : 'stop',
      promptTokens: prompt.ids.length,
      completionTokens: o.tokens.length,
      seed: s.seed,
    }));
    return {
      jobId: params.jobId,
      model: path.basename(model.folder),
      promptText: prompt.text,
      chat: prompt.chat,
      completions,
      timings: { setup: session.setupSeconds, generate: stats.seconds, total: (performance.now() - started) / 1000, generatedTokens: stats.generatedTokens },
    };
  } finally {
    await session.release();
  }
}
