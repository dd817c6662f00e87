// Tokenizers from tokenizer.json through @huggingface/tokenizers (a well-kept, dependency-free
// implementation of the Hugging Face formats: byte-level BPE, SentencePiece-style BPE with byte
// fallback, Metaspace, added and special tokens). docs/ARCHITECTURE.md says why.
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';
import { ModelError } from './errors';

export interface TextTokenizer {
  encode(text: string, addSpecialTokens?: boolean): number[];
  decode(ids: number[], skipSpecialTokens?: boolean): string;
  tokenId(token: string): number | undefined;
  /** Highest token id the tokenizer can produce. */
  maxId: number;
  /** tokenizer_config.json as read ({} when the folder has none): special tokens, chat template. */
  config: Record<string, unknown>;
}

async function readJson(file: string, optional: boolean): Promise<Record<string, unknown> | undefined> {
  try {
    return JSON.parse(await fs.readFile(file, 'utf8')) as Record<string, unknown>;
  } catch (err) {
    if (optional && (err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new ModelError(file, (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'file not found' : `cannot be read: ${(err as Error).message}`);
  }
}

export async function loadTokenizer(folder: string, vocabSize?: number): Promise<TextTokenizer> {
  const file = path.join(folder, 'tokenizer.json');
  const json = (await readJson(file, false))!;
  const config = (await readJson(path.join(folder, 'tokenizer_config.json'), true)) ?? {};
  let tok: Tokenizer;
  try {
    tok = new Tokenizer(json, config);
  } catch (err) {
    throw new ModelError(file, `not a usable tokenizer: ${(err as Error).message}`);
  }
  const maxId = Math.max(...tok.get_vocab(true).values());
  if (vocabSize !== undefined && maxId >= vocabSize) {
    throw new ModelError(file, `token id ${maxId} does not fit the model's vocab_size ${vocabSize}: this tokenizer belongs to another model`);
  }
  return {
    encode: (text, addSpecialTokens = true) => tok.encode(text, { add_special_tokens: addSpecialTokens }).ids,
    // The library refuses an empty list; a completion that is EOS at once is the empty text.
    decode: (ids, skipSpecialTokens = false) => (ids.length ? tok.decode(ids, { skip_special_tokens: skipSpecialTokens }) : ''),
    tokenId: (token) => tok.token_to_id(token),
    maxId,
    config,
  };
}
