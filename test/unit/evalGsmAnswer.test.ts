import * as assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkAnswer, extractGsmAnswer } from '../../src/engine/eval';

// [completion, strict extraction, flexible extraction]
const EXTRACTIONS: [string, string | undefined, string | undefined][] = [
  ['4+24=28. 2*9=18. 28+18=46. 46-20=26.\n#### 26', '26', '26'],
  ['#### 1,234', '1234', '1234'],
  ['#### 1,234,567.00', '1234567', '1234567'],
  ['#### $1,234.50', '1234.5', '1234.5'],
  ['#### \\$12', '12', '12'],
  ['#### -5', '-5', '-5'],
  ['#### −5', '-5', '-5'], // unicode minus
  ['#### -$5', '-5', '-5'],
  ['#### $-5', '-5', '-5'],
  ['#### +7', '7', '7'],
  ['#### 26.', '26', '26'],
  ['#### 26.0', '26', '26'],
  ['#### 0.50', '0.5', '0.5'],
  ['#### .5', '0.5', '0.5'],
  ['#### 007', '7', '7'],
  ['#### -0', '0', '0'],
  ['#### 25%', '25', '25'],
  ['####26', '26', '26'],
  ['####\n  26', '26', '26'],
  ['#### 5\n#### 7', '7', '7'],
  ['#### 7\n#### x', '7', '7'],
  ['#### 2,6', '26', '26'], // as the demo's evaluate.py reads it
  ['The answer is 42.', undefined, '42'],
  ['The answer is: $1,000.', undefined, '1000'],
  ['So the final answer is 3.5 apples.', undefined, '3.5'],
  ['Answer: 17', undefined, '17'],
  ['The answer is 30 dollars for 3 items.\nThen 2+2=4.', undefined, '30'],
  ['the answer is clear. 5+6=11', undefined, '11'],
  ['so 10-5 = 5', undefined, '5'],
  ['10-5', undefined, '5'], // a minus after a digit is subtraction, not a sign
  ['He lost 5. Total -3', undefined, '-3'],
  ['Total: 3.50 dollars.', undefined, '3.5'],
  ['costs $-5', undefined, '-5'],
  ['x2 y3', undefined, undefined], // digits glued to a letter are not numbers
  ['no numbers here', undefined, undefined],
  ['', undefined, undefined],
  ['5 apples #### ', undefined, '5'],
  ['46-20=26. \\boxed{26}', undefined, '26'],
];

describe('extractGsmAnswer', () => {
  for (const [text, strict, flexible] of EXTRACTIONS) {
    it(`reads ${JSON.stringify(text)} as ${strict} (strict) and ${flexible} (flexible)`, () => {
      assert.equal(extractGsmAnswer(text), strict, 'default (strict)');
      assert.equal(extractGsmAnswer(text, { extraction: 'strict' }), strict, 'strict');
      assert.equal(extractGsmAnswer(text, { extraction: 'flexible' }), flexible, 'flexible');
    });
  }
});

describe('checkAnswer gsm8k', () => {
  const cases: [string, string, boolean][] = [
    [' 4+24=28. 2*9=18. 28+18=46. 46-20=26.\n#### 26', '26', true],
    ['#### 26.00', '26', true],
    ['#### $26', '26', true],
    ['#### 1,000', '1000', true],
    ['#### 1000', '1,000', true], // a gold written with a comma
    ['#### 0.5', '.5', true],
    ['#### 5', '-5', false],
    ['#### -5', '5', false],
    ['#### 260', '26', false],
    ['#### 2.6', '26', false],
    ['#### 26.01', '26', false],
    ['#### 25\n#### 26', '26', true],
    ['#### 26\n#### 25', '26', false], // the last answer counts
    ['46-20=26.', '26', false], // cut off before "####": no answer (strict)
    ['46-20=26. \\boxed{26}', '26', false], // another format: no answer (strict)
    ['The answer is 26.', '26', false],
    ['', '26', false],
  ];
  for (const [completion, gold, correct] of cases) {
    it(`${JSON.stringify(completion)} vs gold ${gold}: ${correct}`, () => {
      assert.equal(checkAnswer('gsm8k', completion, gold).correct, correct);
    });
  }

  it('reports the extracted answer, and undefined when there is none', () => {
    assert.deepEqual(checkAnswer('gsm8k', '#### 1,234.0', '1234'), { extracted: '1234', correct: true });
    assert.deepEqual(checkAnswer('gsm8k', 'I do not know', '7'), { extracted: undefined, correct: false });
  });

  it('looks further only when asked (flexible)', () => {
    assert.deepEqual(checkAnswer('gsm8k', 'The answer is 26.', '26', { extraction: 'flexible' }), { extracted: '26', correct: true });
    assert.deepEqual(checkAnswer('gsm8k', '46-20=26.', '26', { extraction: 'flexible' }), { extracted: '26', correct: true });
    const marked = checkAnswer('gsm8k', '#### 25. The answer is 26.', '26', { extraction: 'flexible' });
    assert.deepEqual(marked, { extracted: '25', correct: false }); // #### comes first
    assert.equal(checkAnswer('gsm8k', 'It is 26 or 27', '26', { extraction: 'flexible' }).correct, false);
  });
});
