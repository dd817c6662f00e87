// DPO data of the LLM factory: the held-out split by rejected algorithm, the text an edited
// algorithm stands for, and TRL's preference format (exactly prompt, chosen, rejected).
import * as assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { extractAlgorithm } from '../../src/core/factory/extractCode';
import { completionText, preferenceJsonl, splitByRejected } from '../../src/core/factory/preferenceData';

const pairs = (chosen: string[], rejected: string[]) => chosen.flatMap((c) => rejected.map((r) => ({ chosen: c, rejected: r })));

describe('DPO data of the LLM factory', () => {
  it('holds out whole rejected algorithms: no held-out rejected is ever trained against', () => {
    const all = pairs(['1/a0001', '1/a0002'], ['1/a0010', '1/a0011', '1/a0012', '1/a0013', '1/a0014', '1/a0015', '1/a0016', '1/a0017', '1/a0018', '1/a0019']);
    const { train, heldOut } = splitByRejected(all, 0.2, 0);
    const heldRejected = new Set(heldOut.map((p) => p.rejected));
    assert.equal(heldRejected.size, 2, '20% of 10 rejected algorithms');
    assert.equal(heldOut.length, 4, 'each held-out rejected with both chosen');
    assert.ok(train.every((p) => !heldRejected.has(p.rejected)));
    assert.equal(train.length + heldOut.length, all.length);
    // Stable for a seed, different across seeds (on some draw), order of the input kept.
    assert.deepEqual(splitByRejected([...all].reverse(), 0.2, 0).heldOut.map((p) => p.rejected).sort(), heldOut.map((p) => p.rejected).sort());
    const others = [1, 2, 3, 4, 5].map((s) => [...new Set(splitByRejected(all, 0.2, s).heldOut.map((p) => p.rejected))].sort().join());
    assert.ok(others.some((o) => o !== [...heldRejected].sort().join()), 'the seed chooses the held-out algorithms');
  });

  it('keeps at least one rejected algorithm in training, and holds out nothing when it cannot', () => {
    assert.equal(splitByRejected(pairs(['1/a0001'], ['1/a0002', '1/a0003']), 0.9, 0).train.length, 1);
    assert.equal(splitByRejected(pairs(['1/a0001'], ['1/a0002']), 0.5, 0).heldOut.length, 0, 'one rejected: nothing to hold out');
    assert.equal(splitByRejected(pairs(['1/a0001'], ['1/a0002', '1/a0003', '1/a0004']), 0, 0).heldOut.length, 0, 'share 0');
    assert.equal(splitByRejected(pairs(['1/a0001'], ['1/a0002', '1/a0003', '1/a0004']), 0.01, 0).heldOut.length, 1, 'a positive share holds out at least one');
    assert.deepEqual(splitByRejected([], 0.2, 0), { train: [], heldOut: [] });
  });

  it('stands an edited algorithm for its file in a fenced block that the extraction reads back', () => {
    const raw = 'Here is my idea.\n```python\ndef merge(a):\n    return a\n```\n';
    assert.equal(completionText(raw, 'whatever', false), raw, 'not edited: the raw completion');
    const edited = 'def merge(task_vectors):\n    return sum(task_vectors) * 0.5\n\n\n';
    const text = completionText(raw, edited, true);
    assert.equal(text, '```python\ndef merge(task_vectors):\n    return sum(task_vectors) * 0.5\n```\n');
    const x = extractAlgorithm(text);
    assert.ok(x.ok && x.code.trimEnd() === edited.trimEnd());
  });

  it("writes TRL's standard preference format: one object per line with exactly prompt, chosen and rejected", () => {
    const text = preferenceJsonl([{ prompt: '<s>Write\n', chosen: 'a "b"\n', rejected: 'c', ...({ extra: 1 } as object) } as never]);
    assert.ok(text.endsWith('\n'));
    const rows = text.trim().split('\n').map((l) => JSON.parse(l) as Record<string, string>);
    assert.deepEqual(rows, [{ prompt: '<s>Write\n', chosen: 'a "b"\n', rejected: 'c' }]);
    assert.equal(preferenceJsonl([]), '');
  });
});
