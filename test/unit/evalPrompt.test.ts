import * as assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildPrompt, type BenchmarkItem, type PromptFormat } from '../../src/engine/eval';

const DEMO: PromptFormat = { shots: 0, prompt: 'Question: {question}\nAnswer:', exemplar: 'Question: {question}\nAnswer: {solution}\n\n' };

const item = (id: string, question: string, solution = '#### 1'): BenchmarkItem => ({ id, question, solution, gold: '1', kind: 'gsm8k' });
const shots = [item('e1', 'Q one?', '1+1=2.\n#### 2'), item('e2', 'Q two?', '2+2=4.\n#### 4'), item('e3', 'Q three?', '#### 3')];

describe('buildPrompt', () => {
  it('fills the demo\'s zero-shot prompt', () => {
    assert.equal(buildPrompt(item('x', 'How many?'), shots, DEMO), 'Question: How many?\nAnswer:');
  });

  it('puts the first k exemplars, in order, before the item', () => {
    assert.equal(
      buildPrompt(item('x', 'How many?'), shots, { ...DEMO, shots: 2 }),
      'Question: Q one?\nAnswer: 1+1=2.\n#### 2\n\nQuestion: Q two?\nAnswer: 2+2=4.\n#### 4\n\nQuestion: How many?\nAnswer:',
    );
  });

  it('keeps LaTeX braces, $ patterns and placeholder-like text in problems literal', () => {
    const math: BenchmarkItem = { id: 'm', question: 'Find $\\frac{a}{b}$ where $& = $1 and {solution}', solution: '\\boxed{1}', gold: '1', kind: 'boxed' };
    const ex: BenchmarkItem = { ...math, question: 'Is {question} $$ here?', solution: 'Yes, \\boxed{\\{1\\}} $\' $`' };
    assert.equal(
      buildPrompt(math, [ex], { ...DEMO, shots: 1 }),
      "Question: Is {question} $$ here?\nAnswer: Yes, \\boxed{\\{1\\}} $' $`\n\nQuestion: Find $\\frac{a}{b}$ where $& = $1 and {solution}\nAnswer:",
    );
  });

  it('replaces every placeholder and leaves other braces in the template', () => {
    const format: PromptFormat = { shots: 1, prompt: '{question} / {question} {other}', exemplar: '[{question}|{solution}|\\boxed{}]' };
    assert.equal(buildPrompt(item('x', 'Q'), shots, format), '[Q one?|1+1=2.\n#### 2|\\boxed{}]Q / Q {other}');
  });

  it('refuses more shots than exemplars, and bad shot counts', () => {
    assert.throws(() => buildPrompt(item('x', 'Q'), shots, { ...DEMO, shots: 5 }), /5-shot prompt needs 5 exemplars, but the few-shot set has 3/);
    assert.throws(() => buildPrompt(item('x', 'Q'), shots, { ...DEMO, shots: -1 }), RangeError);
    assert.throws(() => buildPrompt(item('x', 'Q'), shots, { ...DEMO, shots: 1.5 }), RangeError);
  });
});
