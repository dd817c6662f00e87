// Chat templates rendered as transformers renders them (its apply_chat_template is the oracle),
// for templates of the common families and conversations of several shapes.
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { applyChatTemplate, chatTemplateOf, type ChatMessage } from '../../src/engine/inference/chatTemplate';
import { repoRoot } from '../harness/paths';

const python = process.env.SELFDEV_PYTHON ?? 'python3';
const TOKENIZER = path.join(repoRoot, 'resources', 'demo', 'models', 'seed', 'tokenizer.json');

const TEMPLATES: Record<string, string> = {
  chatml: "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}",
  llama2:
    "{% if messages[0]['role'] == 'system' %}{% set loop_messages = messages[1:] %}{% set system_message = messages[0]['content'] %}{% else %}{% set loop_messages = messages %}{% set system_message = false %}{% endif %}{% for message in loop_messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}{% if loop.index0 == 0 and system_message != false %}{% set content = '<<SYS>>\\n' + system_message + '\\n<</SYS>>\\n\\n' + message['content'] %}{% else %}{% set content = message['content'] %}{% endif %}{% if message['role'] == 'user' %}{{ bos_token + '[INST] ' + content.strip() + ' [/INST]' }}{% elif message['role'] == 'assistant' %}{{ ' '  + content.strip() + ' ' + eos_token }}{% endif %}{% endfor %}",
  zephyr:
    "{% for message in messages %}\n{% if message['role'] == 'user' %}\n{{ '<|user|>\n' + message['content'] + eos_token }}\n{% elif message['role'] == 'system' %}\n{{ '<|system|>\n' + message['content'] + eos_token }}\n{% elif message['role'] == 'assistant' %}\n{{ '<|assistant|>\n'  + message['content'] + eos_token }}\n{% endif %}\n{% if loop.last and add_generation_prompt %}\n{{ '<|assistant|>' }}\n{% endif %}\n{% endfor %}",
};

const CONVERSATIONS: ChatMessage[][] = [
  [{ role: 'user', content: 'Write a merge function.' }],
  [
    { role: 'system', content: 'You write Python.' },
    { role: 'user', content: '  Merge two task vectors.  ' },
  ],
  [
    { role: 'user', content: 'Merge.' },
    { role: 'assistant', content: 'def merge(t, n):\n    return t[0]' },
    { role: 'user', content: 'Average them instead.' },
  ],
];

function oracle(cases: { template: string; messages: ChatMessage[]; add: boolean }[]): string[] {
  const code = `import json, sys
from transformers import PreTrainedTokenizerFast
tok = PreTrainedTokenizerFast(tokenizer_file=${JSON.stringify(TOKENIZER)}, bos_token="<s>", eos_token="</s>")
out = []
for c in json.load(sys.stdin):
    out.append(tok.apply_chat_template(c["messages"], chat_template=c["template"], tokenize=False, add_generation_prompt=c["add"]))
print(json.dumps(out))`;
  const r = spawnSync(python, ['-c', code], { input: JSON.stringify(cases), encoding: 'utf8', env: { ...process.env, TRANSFORMERS_OFFLINE: '1', HF_HUB_OFFLINE: '1' } });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as string[];
}

describe('chat templates', () => {
  it('render as transformers renders them (three template families, three conversations, with and without the generation prompt)', () => {
    const cases = Object.values(TEMPLATES).flatMap((template) => CONVERSATIONS.flatMap((messages) => [false, true].map((add) => ({ template, messages, add }))));
    const expected = oracle(cases);
    const config = { bos_token: '<s>', eos_token: { content: '</s>', lstrip: false } };
    const got = cases.map((c) => applyChatTemplate(config, c.messages, { template: c.template, addGenerationPrompt: c.add }));
    for (const [i, c] of cases.entries()) assert.equal(got[i], expected[i], `case ${i}: ${JSON.stringify(c.messages).slice(0, 80)} add=${c.add}`);
  });

  it("says when a template refuses the messages, and when a model has no template", () => {
    const config = { bos_token: '<s>', eos_token: '</s>', chat_template: TEMPLATES.llama2 };
    assert.throws(() => applyChatTemplate(config, [{ role: 'assistant', content: 'x' }]), /the chat template refused the messages: Conversation roles must alternate/);
    assert.throws(() => applyChatTemplate({ bos_token: '<s>' }, [{ role: 'user', content: 'x' }]), /no chat_template: use a plain prompt/);
    assert.equal(chatTemplateOf({ chat_template: [{ name: 'tool_use', template: 'a' }, { name: 'default', template: 'b' }] }), 'b');
  });
});
