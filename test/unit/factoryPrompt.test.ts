// The LLM factory's prompt: placeholders filled, the examples block, and clear errors for a
// template the loop cannot fill.
import * as assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { fence, formatExamples, PromptTemplateError, renderPrompt, templatePlaceholders } from '../../src/core/factory/prompt';
import { repoRoot } from '../harness/paths';

const worked = 'def merge(task_vectors, name):\n    return task_vectors[0]\n';

describe('the factory prompt', () => {
  it('fills {{worked_example}} and an empty {{examples}} (the paper\'s fixed 1-shot prompt)', () => {
    const text = renderPrompt('Intro\n{{examples}}Example:\n```python\n{{ worked_example }}```\nNew:\n', { workedExample: worked.replace(/\n/g, '\r\n') + '\n\n' });
    assert.equal(text, 'Intro\nExample:\n```python\ndef merge(task_vectors, name):\n    return task_vectors[0]\n```\nNew:\n');
  });

  it('shows earlier algorithms best first, each fenced with its dev score and reference', () => {
    const examples = [
      { ref: '2/a0007', score: 0.4567, code: 'def merge(t, n):\n    return t[0]' },
      { ref: '1/a0003', score: 0.4, code: 'def merge(t, n):\n    return t[1]\n' },
    ];
    assert.equal(
      formatExamples(examples),
      'Earlier algorithm 2/a0007 (dev score 45.7):\n```python\ndef merge(t, n):\n    return t[0]\n```\n\nEarlier algorithm 1/a0003 (dev score 40.0):\n```python\ndef merge(t, n):\n    return t[1]\n```\n\n',
    );
    assert.ok(renderPrompt('{{examples}}{{worked_example}}', { workedExample: worked, examples }).startsWith('Earlier algorithm 2/a0007'));
    assert.equal(fence('x = 1'), '```python\nx = 1\n```');
  });

  it('refuses an unknown placeholder and a template without the worked example', () => {
    assert.throws(() => renderPrompt('{{worked_example}} {{best}}', { workedExample: worked }), (e: unknown) => e instanceof PromptTemplateError && /unknown placeholder \{\{best\}\}/.test(e.message));
    assert.throws(() => renderPrompt('no example here', { workedExample: worked }), /has no \{\{worked_example\}\}/);
  });

  it('ships templates that use only known placeholders and show the worked example', () => {
    for (const file of [path.join(repoRoot, 'resources', 'prompts', 'paper.md'), path.join(repoRoot, 'resources', 'demo', 'prompts', 'writer.md')]) {
      const t = readFileSync(file, 'utf8');
      assert.deepEqual(templatePlaceholders(t).sort(), ['examples', 'worked_example'], file);
    }
  });
});
