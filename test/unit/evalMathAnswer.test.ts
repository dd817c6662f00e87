import * as assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkAnswer, extractBoxed, normalizeMathAnswer } from '../../src/engine/eval';

describe('extractBoxed', () => {
  const cases: [string, string | undefined][] = [
    ['20/2=10. 48+10=58. \\boxed{58}', '58'],
    ['a \\boxed{1} b \\boxed{2}', '2'],
    ['$\\boxed{\\frac{1}{2}}$', '\\frac{1}{2}'],
    ['\\boxed{\\frac{\\sqrt{3}}{2}} done', '\\frac{\\sqrt{3}}{2}'],
    ['\\boxed{ 58 }', '58'],
    ['\\boxed {7}', '7'],
    ['\\boxed 5', '5'],
    ['so it is \\boxed 5.', '5'],
    ['\\boxed5', '5'],
    ['$\\boxed 12$ cm', '12'],
    ['\\fbox{3}', '3'],
    ['\\boxed{3} then \\fbox{4}', '4'],
    ['\\boxed{\\{1,2\\}}', '\\{1,2\\}'],
    ['\\boxed{\\text{(A) } \\{x\\}}', '\\text{(A) } \\{x\\}'],
    ['\\boxed{58', undefined], // cut off inside the box
    ['\\boxed{57} then \\boxed{58', undefined], // the last box has no answer yet
    ['\\boxedx{2}', undefined],
    ['no box, 58', undefined],
    ['\\boxed', undefined],
    ['\\boxed{}', undefined],
  ];
  for (const [text, want] of cases) {
    it(`finds ${JSON.stringify(want)} in ${JSON.stringify(text)}`, () => assert.equal(extractBoxed(text), want));
  }
});

describe('normalizeMathAnswer', () => {
  // Each group: answers that are the same.
  const same: string[][] = [
    ['0.5', '\\frac12', '\\frac{1}{2}', '1/2', '\\dfrac{1}{2}', '\\tfrac12', '\\frac 1 2', '\\frac1{2}', '2/4', '.50', '$\\frac{1}{2}$', '\\(1/2\\)'],
    ['-\\frac{1}{2}', '\\frac{-1}{2}', '-1/2', '-0.5', '\\frac{1}{-2}'],
    ['5', '5.0', '5.00', '\\frac{10}{2}', '+5', '5.', '\\boxed{5}', 'x=5', 'x = 5', '{5}', '(5)'],
    ['90', '90^\\circ', '90^{\\circ}', '90 ^ {\\circ}', '90°', '90\\text{ degrees}'],
    ['5', '\\$5', '\\$5.00', '5\\text{ cm}', '5 \\text{ cm}^2', '5\\mbox{ inches}', '5\\%'],
    ['10000', '10,000', '10,\\!000', '10\\,000', '10{,}000'],
    ['\\{1,2\\}', '\\{2,1\\}', '\\{2, 1\\}', '\\left\\{1,2\\right\\}', '\\{\\frac{4}{2},1\\}'],
    ['2,-3', '-3, 2', 'x=2, x=-3', 'x = -3,\\ x = 2'],
    ['x=1,y=2', 'y=2, x=1'],
    ['(1,2)', '\\left(1, 2\\right)', '(1, \\frac{4}{2})', '(\\frac{2}{2},2)'],
    ['\\frac{\\sqrt{3}}{2}', '\\sqrt3/2', '\\sqrt{3}/2', '\\dfrac{\\sqrt{3}}{2}', '\\frac{\\sqrt3}2'],
    ['\\frac{x+1}{2}', '(x+1)/2'],
    ['\\pi/2', '\\frac{\\pi}{2}', '\\frac\\pi2', 'π/2'],
    ['x^2', 'x^{2}'],
    ['\\sqrt{2}', '\\sqrt2', '\\sqrt 2'],
    ['\\text{Tuesday}', 'Tuesday', '\\textbf{Tuesday}'],
    ['C', '\\text{(C)}', '(C)'],
    ['[1,2)', '\\left[1, 2\\right)'],
  ];
  for (const group of same) {
    it(`treats ${group.map((s) => JSON.stringify(s)).join(', ')} as one answer`, () => {
      const first = normalizeMathAnswer(group[0]);
      for (const s of group) assert.equal(normalizeMathAnswer(s), first, `${JSON.stringify(s)} vs ${JSON.stringify(group[0])}`);
    });
  }

  // Pairs that must stay different.
  const different: [string, string][] = [
    ['(1,2)', '(2,1)'], // points are ordered
    ['[1,2)', '(1,2]'], // intervals keep their brackets
    ['[1,2]', '(1,2)'],
    ['x=1,y=2', 'x=2,y=1'],
    ['\\frac{1}{3}', '0.333'],
    ['\\frac{1}{2}', '\\frac{1}{3}'],
    ['2\\frac{1}{2}', '\\frac{21}{2}'], // a mixed number is not 21/2
    ['-\\frac12', '\\frac12'],
    ['5', '50'],
    ['5', '-5'],
    ['\\sqrt{2}', '2'],
    ['\\frac{\\sqrt{2}}{2}', '\\frac{1}{\\sqrt{2}}'], // equal values, but not the same written answer
    ['x^2', 'x2'],
    ['\\{1,2\\}', '\\{1,2,3\\}'],
    ['1,2', '12'],
    ['1,000', '1'],
    ['2x+3', '2x-3'],
  ];
  for (const [a, b] of different) {
    it(`keeps ${JSON.stringify(a)} and ${JSON.stringify(b)} apart`, () => {
      assert.notEqual(normalizeMathAnswer(a), normalizeMathAnswer(b));
    });
  }

  it('gives readable normal forms', () => {
    assert.equal(normalizeMathAnswer('\\dfrac{3}{6}'), '1/2');
    assert.equal(normalizeMathAnswer('\\{3, 1, 2\\}'), '\\{1,2,3\\}');
    assert.equal(normalizeMathAnswer('\\frac{\\sqrt{3}}{2}'), '\\sqrt{3}/2');
    assert.equal(normalizeMathAnswer('  58 '), '58');
  });
});

describe('checkAnswer boxed', () => {
  const cases: [string, string, boolean][] = [
    [' 20/2=10. 48+10=58. \\boxed{58}', '58', true],
    ['so $\\boxed{\\dfrac{1}{2}}$.', '0.5', true],
    ['\\boxed{0.5}', '\\frac{1}{2}', true],
    ['\\boxed{90^\\circ}', '90', true],
    ['\\boxed{\\$18.90}', '18.9', true],
    ['\\boxed{2, -3}', '-3,2', true],
    ['\\boxed{(2,-3)}', '(-3,2)', false],
    ['\\boxed 58', '58', true],
    ['\\fbox{58}', '58', true],
    ['\\boxed{57} \\boxed{58}', '58', true],
    ['\\boxed{58} \\boxed{57}', '58', false],
    ['48+10=58.', '58', false], // no box, no answer
    ['48+10=58.\n#### 58', '58', false],
    ['\\boxed{58', '58', false],
    ['\\boxed{580}', '58', false],
  ];
  for (const [completion, gold, correct] of cases) {
    it(`${JSON.stringify(completion)} vs gold ${JSON.stringify(gold)}: ${correct}`, () => {
      assert.equal(checkAnswer('boxed', completion, gold).correct, correct);
    });
  }

  it('reports the box content as written', () => {
    assert.deepEqual(checkAnswer('boxed', '\\boxed{\\frac12}', '0.5'), { extracted: '\\frac12', correct: true });
    assert.deepEqual(checkAnswer('boxed', 'none', '0.5'), { extracted: undefined, correct: false });
  });
});
