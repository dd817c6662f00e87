import * as assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseFromWebview } from '../../src/protocol/webviewMessages';

describe('parseFromWebview', () => {
  it('accepts the messages of the protocol', () => {
    assert.deepEqual(parseFromWebview({ t: 'ready' }), { t: 'ready' });
    assert.deepEqual(parseFromWebview({ t: 'refresh', extra: 1 }), { t: 'refresh' });
    assert.deepEqual(parseFromWebview({ t: 'command', command: 'selfdev.startDemo' }), { t: 'command', command: 'selfdev.startDemo' });
  });

  it('refuses anything else, including commands outside the allowlist', () => {
    for (const bad of [null, 'ready', 42, [], {}, { t: 'nope' }, { t: 'command' }, { t: 'command', command: 'workbench.action.terminal.new' }]) {
      assert.equal(parseFromWebview(bad), undefined, JSON.stringify(bad));
    }
  });
});

describe('parseFromWebview: the panel protocol', () => {
  it('accepts well-formed requests and keeps only their fields', () => {
    assert.deepEqual(parseFromWebview({ t: 'selectIteration', runId: 'demo-20261201-120000', iteration: 2, extra: 'x' }), { t: 'selectIteration', runId: 'demo-20261201-120000', iteration: 2 });
    assert.deepEqual(parseFromWebview({ t: 'requestDetail', requestId: 7, runId: 'r', iteration: 1, id: 'a0007' }), { t: 'requestDetail', requestId: 7, runId: 'r', iteration: 1, id: 'a0007' });
    assert.deepEqual(parseFromWebview({ t: 'veto', runId: 'r', iteration: 3, id: 'a0100', undo: true }), { t: 'veto', runId: 'r', iteration: 3, id: 'a0100', undo: true });
    assert.deepEqual(parseFromWebview({ t: 'vetoPair', runId: 'r', iteration: 1, index: 0, undo: false }), { t: 'vetoPair', runId: 'r', iteration: 1, index: 0, undo: false });
    assert.deepEqual(parseFromWebview({ t: 'command', command: 'selfdev.runNextIteration', runId: 'r' }), { t: 'command', command: 'selfdev.runNextIteration', runId: 'r' });
  });

  it('refuses ids that could name files outside a run, and numbers out of range', () => {
    const bad = [
      { t: 'selectRun', runId: '../etc' },
      { t: 'selectRun', runId: '' },
      { t: 'selectIteration', runId: 'r', iteration: 0 },
      { t: 'selectIteration', runId: 'r', iteration: 1.5 },
      { t: 'selectIteration', runId: 'r', iteration: '1' },
      { t: 'requestDetail', requestId: 1, runId: 'r', iteration: 1, id: '../../run' },
      { t: 'requestDetail', requestId: -1, runId: 'r', iteration: 1, id: 'a0001' },
      { t: 'openAlgorithm', runId: 'r', iteration: 1, id: 'a0001.py' },
      { t: 'veto', runId: 'r', iteration: 1, id: 'a0001' },
      { t: 'vetoPair', runId: 'r', iteration: 1, index: -2, undo: false },
      { t: 'command', command: 'selfdev.startDemo', runId: 'a/b' },
    ];
    for (const m of bad) assert.equal(parseFromWebview(m), undefined, JSON.stringify(m));
  });
});
