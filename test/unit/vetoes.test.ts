import * as assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Vetoes } from '../../src/core/run/vetoes';

describe('vetoes.json', () => {
  it('reads the first format (a list of algorithm refs) and writes the current one', () => {
    const v = Vetoes.parse('["1/a0003", "2/a0001"]', 'vetoes.json');
    assert.equal(v.hasAlgorithm(1, 'a0003'), true);
    assert.equal(v.hasAlgorithm(2, 'a0003'), false);
    assert.deepEqual(JSON.parse(JSON.stringify(v)), { algorithms: ['1/a0003', '2/a0001'], pairs: [] });
  });

  it('keeps pairs per iteration and says whether a change changed anything', () => {
    const v = Vetoes.parse(JSON.stringify({ algorithms: [], pairs: ['2:2/a0003>1/a0010'] }), 'vetoes.json');
    assert.equal(v.hasPair(2, '2/a0003', '1/a0010'), true);
    assert.equal(v.hasPair(3, '2/a0003', '1/a0010'), false);
    assert.equal(v.setPair(2, '2/a0003', '1/a0010', true), false);
    assert.equal(v.setPair(2, '2/a0003', '1/a0010', false), true);
    assert.equal(v.setAlgorithm(1, 'a0001', true), true);
    assert.deepEqual(v.toJSON(), { algorithms: ['1/a0001'], pairs: [] });
  });

  it('treats a missing or empty file as no vetoes, and names a damaged one', () => {
    assert.equal(Vetoes.parse(undefined, 'v').algorithmCount, 0);
    assert.equal(Vetoes.parse('  \n', 'v').algorithmCount, 0);
    assert.throws(() => Vetoes.parse('{"algorithms": [1]}', '/r/vetoes.json'), /\/r\/vetoes\.json: expected \{"algorithms"/);
    assert.throws(() => Vetoes.parse('{oops', '/r/vetoes.json'), /\/r\/vetoes\.json: not valid JSON .*git log shows each veto/);
  });
});
