// The LLM factory's engine generator on a model folder whose tokenizer_config.json has a chat
// template (the demo seed, copied with the Llama-2 template added): the prompt text and token ids
// are what transformers' apply_chat_template gives; without a template, or with chat "never",
// the prompt is encoded as plain text with the tokenizer's own specials, as transformers does.
// Sampling is seeded: the same job gives the same completions, n of them.
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { before, describe, it } from 'node:test';
import { encodePrompt, generateWithEngine } from '../../src/engine/generators/engineGenerator';
import { loadTokenizer } from '../../src/engine/model/tokenizer';
import type { EngineGenerator, GenerateParams } from '../../src/protocol/backend';
import { demoModel, PYTHON } from './support/python';

const LLAMA2 =
  "{% if messages[0]['role'] == 'system' %}{% set loop_messages = messages[1:] %}{% set system_message = messages[0]['content'] %}{% else %}{% set loop_messages = messages %}{% set system_message = false %}{% endif %}{% for message in loop_messages %}{% if loop.index0 == 0 and system_message != false %}{% set content = '<<SYS>>\\n' + system_message + '\\n<</SYS>>\\n\\n' + message['content'] %}{% else %}{% set content = message['content'] %}{% endif %}{% if message['role'] == 'user' %}{{ bos_token + '[INST] ' + content.strip() + ' [/INST]' }}{% elif message['role'] == 'assistant' %}{{ ' '  + content.strip() + ' ' + eos_token }}{% endif %}{% endfor %}";

const PROMPT = 'Question: Eli has 4 green stickers and 24 yellow stickers. How many stickers does he have?\nWrite the answer.';

function transformersOracle(folder: string, prompt: string): { chatText: string; chatIds: number[]; plainIds: number[] } {
  const code = `import json, sys
from transformers import AutoTokenizer
tok = AutoTokenizer.from_pretrained(sys.argv[1])
p = sys.stdin.read()
m = [{"role": "user", "content": p}]
print(json.dumps({"chatText": tok.apply_chat_template(m, tokenize=False, add_generation_prompt=True),
                  "chatIds": tok.apply_chat_template(m, tokenize=True, add_generation_prompt=True),
                  "plainIds": tok(p)["input_ids"]}))`;
  const r = spawnSync(PYTHON, ['-c', code, folder], { input: prompt, encoding: 'utf8', env: { ...process.env, HF_HUB_OFFLINE: '1', TRANSFORMERS_OFFLINE: '1' } });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as { chatText: string; chatIds: number[]; plainIds: number[] };
}

describe('the engine generator', () => {
  let folder: string;
  before(() => {
    folder = path.join(mkdtempSync(path.join(os.tmpdir(), 'selfdev-chat-model-')), 'seed-chat');
    cpSync(demoModel('seed'), folder, { recursive: true });
    const config = JSON.parse(readFileSync(path.join(folder, 'tokenizer_config.json'), 'utf8')) as Record<string, unknown>;
    writeFileSync(path.join(folder, 'tokenizer_config.json'), JSON.stringify({ ...config, chat_template: LLAMA2 }, null, 2));
  });

  it('applies the chat template as transformers does: the same text and the same token ids', async () => {
    const tok = await loadTokenizer(folder);
    const want = transformersOracle(folder, PROMPT);
    const got = encodePrompt(tok, PROMPT, 'auto');
    assert.equal(got.chat, true);
    assert.equal(got.text, want.chatText);
    assert.deepEqual(got.ids, want.chatIds);
    assert.match(got.text, /^<s>\[INST\] Question:/);
  });

  it('encodes plain text with the tokenizer\'s specials without a template, or when told never to use it', async () => {
    const tok = await loadTokenizer(folder);
    const want = transformersOracle(folder, PROMPT);
    const never = encodePrompt(tok, PROMPT, 'never');
    assert.deepEqual({ chat: never.chat, text: never.text, ids: never.ids }, { chat: false, text: PROMPT, ids: want.plainIds });
    const plain = encodePrompt(await loadTokenizer(demoModel('seed')), PROMPT, 'auto');
    assert.equal(plain.chat, false);
    assert.deepEqual(plain.ids, want.plainIds);
  });

  it('samples n completions reproducibly from the seed, and reports tokens and the exact prompt', async () => {
    const params = (seed: number): GenerateParams & { generator: EngineGenerator } => ({
      jobId: 'g',
      generator: { kind: 'engine', model: folder, chat: 'auto' },
      prompt: PROMPT,
      n: 5,
      sampling: { temperature: 1.5, topP: 0.95, maxTokens: 24, seed, stop: ['\n\n'] },
      threads: 1,
    });
    const progress: number[] = [];
    const a = await generateWithEngine(params(7), undefined, (done) => progress.push(done));
    const b = await generateWithEngine(params(7));
    const c = await generateWithEngine(params(8));
    assert.equal(a.completions.length, 5);
    assert.deepEqual(b.completions, a.completions);
    assert.notDeepEqual(c.completions.map((x) => x.text), a.completions.map((x) => x.text));
    assert.equal(a.promptText, transformersOracle(folder, PROMPT).chatText);
    assert.equal(a.chat, true);
    assert.equal(a.model, 'seed-chat');
    for (const x of a.completions) {
      assert.ok(!x.text.includes('\n\n'));
      assert.ok(x.completionTokens! <= 24);
      if (x.finishReason === 'length') assert.equal(x.completionTokens, 24);
    }
    assert.deepEqual(progress, [1, 2, 3, 4, 5]);
  });

  it('refuses a prompt longer than the model takes, saying what to do', async () => {
    await assert.rejects(
      generateWithEngine({ jobId: 'g', generator: { kind: 'engine', model: folder, chat: 'never' }, prompt: 'word '.repeat(400), n: 1, sampling: { temperature: 1, topP: 1, maxTokens: 8, seed: 0, stop: [] } }),
      /the prompt is \d+ tokens, the model takes at most 256: shorten the prompt template/,
    );
  });
});
