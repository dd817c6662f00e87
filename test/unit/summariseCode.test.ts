// The one-line summary of an LLM-written algorithm: its docstring, else the prose before the
// code, else the helpers it calls; and no completion text, however garbled, makes it throw (a
// refined demo writer once wrote `from selfdev_merge import trim_top_k), finish`).
import * as assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { extractAlgorithm } from '../../src/core/factory/extractCode';
import { summariseCode } from '../../src/core/factory/summariseCode';
import { commentedCompletion } from '../../src/core/loop/llmGeneration';
import { seededRandom } from '../../src/stats';

describe('summariseCode', () => {
  it('takes the module docstring, else the prose, else the helpers called', () => {
    assert.equal(summariseCode('"""Average the task vectors."""\n\ndef merge(t, n):\n    return t[0]\n'), 'Average the task vectors.');
    assert.equal(summariseCode('def merge(t, n):\n    return t[0]\n', 'I average the task vectors here.\n```python\n'), 'I average the task vectors here.');
    const code = 'from selfdev_merge import as_arrays, finish, trim_top_k, sign_elect\n\n\ndef merge(task_vectors, name):\n    taus = trim_top_k(as_arrays(task_vectors), 0.2)\n    return finish(sign_elect(taus), task_vectors)\n';
    assert.equal(summariseCode(code), 'LLM: trim_top_k + sign_elect');
  });

  it('reads a garbled import line without treating it as a pattern', () => {
    const code = 'from selfdev_merge import trim_top_k), finish, (sign[, a+b, *\n\ndef merge(task_vectors, name):\n    return finish(trim_top_k(task_vectors), task_vectors)\n';
    assert.equal(summariseCode(code), 'LLM-written algorithm');
  });

  it('never throws on arbitrary completion text, nor does extraction or the commented form', () => {
    const random = seededRandom(11);
    const pieces = ['from selfdev_merge import ', 'def merge(', ')', '(', '[', ']', '*', '+', '?', '\\', '```python\n', '```', '"""', "'''", '\n', ' ', 'trim_top_k', ',', '{', '}', '|', '^', '$', '.', 'é', '\u0000', '\r\n', '\t'];
    for (let k = 0; k < 2000; k++) {
      const text = Array.from({ length: 1 + Math.floor(random() * 40) }, () => pieces[Math.floor(random() * pieces.length)]).join('');
      const x = extractAlgorithm(text);
      assert.doesNotThrow(() => summariseCode(x.ok ? x.code : text, text), text);
      assert.doesNotThrow(() => commentedCompletion(text, 'detail'), text);
    }
  });
});
