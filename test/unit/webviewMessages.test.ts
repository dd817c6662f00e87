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
