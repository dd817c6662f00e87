// Chat templates as Hugging Face models ship them (tokenizer_config.json's `chat_template`, a
// Jinja template), rendered with @huggingface/jinja, Hugging Face's own maintained Jinja for
// JavaScript, with the variables transformers' apply_chat_template passes: the messages,
// add_generation_prompt and the special tokens (raise_exception is the library's). A test holds the result to
// transformers' on several templates.
import { Template } from '@huggingface/jinja';

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

const SPECIAL = ['bos_token', 'eos_token', 'unk_token', 'pad_token', 'sep_token', 'cls_token', 'mask_token'] as const;

/** A special token as tokenizer_config.json writes it: a string, or {"content": ...}. */
function tokenText(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (typeof v === 'object' && v !== null && typeof (v as { content?: unknown }).content === 'string') return (v as { content: string }).content;
  return undefined;
}

/** The model's chat template, or undefined when it has none (a base model: use plain prompts). */
export function chatTemplateOf(tokenizerConfig: Record<string, unknown>, name = 'default'): string | undefined {
  const t = tokenizerConfig.chat_template;
  if (typeof t === 'string') return t;
  if (Array.isArray(t)) {
    const named = t.find((x: { name?: unknown }) => x?.name === name) as { template?: unknown } | undefined;
    return typeof named?.template === 'string' ? named.template : undefined;
  }
  return undefined;
}

/** The prompt text the model expects for `messages`, as transformers renders it. */
export function applyChatTemplate(tokenizerConfig: Record<string, unknown>, messages: readonly ChatMessage[], opts: { addGenerationPrompt?: boolean; template?: string } = {}): string {
  const source = opts.template ?? chatTemplateOf(tokenizerConfig);
  if (source === undefined) throw new Error('the tokenizer has no chat_template: use a plain prompt for this model');
  const context: Record<string, unknown> = {
    messages: messages.map((m) => ({ role: m.role, content: m.content })),
    add_generation_prompt: opts.addGenerationPrompt ?? false,
  };
  for (const k of SPECIAL) {
    const v = tokenText(tokenizerConfig[k]);
    if (v !== undefined) context[k] = v;
  }
  try {
    return new Template(source).render(context); // raise_exception is built in
  } catch (err) {
    throw new Error(`the chat template refused the messages: ${(err as Error).message}`);
  }
}
