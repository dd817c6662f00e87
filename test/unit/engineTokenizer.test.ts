// Token ids against the Hugging Face tokenizers library, on tokenizers the test trains with it.
import * as assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { before, describe, it } from 'node:test';
import { loadTokenizer } from '../../src/engine/model/tokenizer';
import { demoModel, runFixtureScript } from './support/python';

interface Row {
  text: string;
  ids: number[];
  ids_no_special: number[];
  decoded: string;
}

describe('tokenizer vs Hugging Face tokenizers', () => {
  let dir: string;
  let expected: Record<string, Row[]>;
  before(() => {
    dir = runFixtureScript(path.join('engine', 'make_tokenizers.py'));
    expected = JSON.parse(readFileSync(path.join(dir, 'expected.json'), 'utf8')) as Record<string, Row[]>;
  });

  for (const [name, what] of [
    ['bytelevel', 'a byte-level BPE (Llama 3 / Qwen2 style)'],
    ['sentencepiece', 'a SentencePiece-style BPE with byte fallback (Llama 2 / Mistral style)'],
  ]) {
    it(`gives the same ids and text for ${what}`, async () => {
      const tok = await loadTokenizer(path.join(dir, name));
      const rows = expected[name];
      assert.ok(rows.length > 1200);
      for (const r of rows) {
        assert.deepEqual(tok.encode(r.text), r.ids, `encode ${JSON.stringify(r.text)}`);
        assert.deepEqual(tok.encode(r.text, false), r.ids_no_special, `encode without specials ${JSON.stringify(r.text)}`);
        assert.equal(tok.decode(r.ids, true), r.decoded, `decode ${JSON.stringify(r.text)}`);
      }
    });
  }

  it("reads the demo model's tokenizer: digits one per token, BOS first", async () => {
    const tok = await loadTokenizer(demoModel('seed'), 512);
    const ids = tok.encode('Question: 123+45\nAnswer:');
    assert.equal(ids[0], tok.tokenId('<s>'));
    assert.equal(tok.decode(ids, true), 'Question: 123+45\nAnswer:');
    for (const d of '0123456789') assert.equal(tok.encode(d, false).length, 1, `digit ${d}`);
    assert.equal(tok.decode([]), '');
  });

  it('refuses a tokenizer whose ids do not fit the model', async () => {
    await assert.rejects(loadTokenizer(path.join(dir, 'sentencepiece'), 100), /token id \d+ does not fit the model's vocab_size 100/);
  });
});
