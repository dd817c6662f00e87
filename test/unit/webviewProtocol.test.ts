// The results panel's protocol seen from the webview: every message the panel posts survives
// the host's validation unchanged, anything malformed is refused, and the message kinds both
// sides handle are the same set (a new kind fails to compile here until it is listed).
import * as assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  ALGORITHM_ID_PATTERN,
  parseFromWebview,
  RUN_ID_PATTERN,
  WEBVIEW_COMMANDS,
  type FromWebview,
  type ToWebview,
} from '../../src/protocol/webviewMessages';

/** What the panel posts (webview/src/main.ts and its views), one of each shape. */
const POSTED: FromWebview[] = [
  { t: 'ready' },
  { t: 'refresh' },
  { t: 'command', command: 'selfdev.startDemo' },
  { t: 'command', command: 'selfdev.newRun' },
  { t: 'command', command: 'selfdev.runNextIteration', runId: 'demo' },
  { t: 'command', command: 'selfdev.stop', runId: 'gsm-7b_ties.2' },
  { t: 'command', command: 'selfdev.exportReport', runId: 'demo' },
  { t: 'selectRun', runId: 'demo' },
  { t: 'selectIteration', runId: 'demo', iteration: 1 },
  { t: 'selectIteration', runId: 'demo', iteration: 999 },
  { t: 'requestDetail', requestId: 0, runId: 'demo', iteration: 3, id: 'a0007' },
  { t: 'requestDetail', requestId: 41, runId: 'demo', iteration: 3, id: 'a123456' },
  { t: 'requestPair', requestId: 42, runId: 'demo', iteration: 2, index: 0 },
  { t: 'openAlgorithm', runId: 'demo', iteration: 2, id: 'a0033' },
  { t: 'exportModel', runId: 'demo', iteration: 2, id: 'a0033' },
  { t: 'veto', runId: 'demo', iteration: 2, id: 'a0033', undo: false },
  { t: 'veto', runId: 'demo', iteration: 2, id: 'a0033', undo: true },
  { t: 'vetoPair', runId: 'demo', iteration: 2, index: 5, undo: false },
];

describe('webview protocol', () => {
  it('accepts every message the panel posts, unchanged after the JSON hop', () => {
    for (const msg of POSTED) assert.deepEqual(parseFromWebview(JSON.parse(JSON.stringify(msg))), msg, JSON.stringify(msg));
  });

  it('keeps only the known fields', () => {
    assert.deepEqual(parseFromWebview({ t: 'selectRun', runId: 'demo', extra: '<script>' }), { t: 'selectRun', runId: 'demo' });
    assert.deepEqual(parseFromWebview({ t: 'veto', runId: 'demo', iteration: 1, id: 'a0001', undo: true, path: '/etc/passwd' }), {
      t: 'veto',
      runId: 'demo',
      iteration: 1,
      id: 'a0001',
      undo: true,
    });
  });

  it('refuses malformed ids, numbers and flags', () => {
    const bad: unknown[] = [
      { t: 'selectRun', runId: '../other' },
      { t: 'selectRun', runId: '' },
      { t: 'selectRun', runId: 'x'.repeat(65) },
      { t: 'selectRun', runId: 7 },
      { t: 'selectIteration', runId: 'demo', iteration: 0 },
      { t: 'selectIteration', runId: 'demo', iteration: 1000 },
      { t: 'selectIteration', runId: 'demo', iteration: 1.5 },
      { t: 'selectIteration', runId: 'demo', iteration: '2' },
      { t: 'requestDetail', requestId: -1, runId: 'demo', iteration: 1, id: 'a0001' },
      { t: 'requestDetail', requestId: 0.5, runId: 'demo', iteration: 1, id: 'a0001' },
      { t: 'requestDetail', requestId: 1, runId: 'demo', iteration: 1, id: 'a0001.py' },
      { t: 'requestDetail', requestId: 1, runId: 'demo', iteration: 1, id: '../a0001' },
      { t: 'requestDetail', requestId: 1, runId: 'demo', iteration: 1, id: 'a12' },
      { t: 'requestPair', requestId: 1, runId: 'demo', iteration: 1, index: -1 },
      { t: 'openAlgorithm', runId: 'demo', iteration: 1, id: 'seed' },
      { t: 'exportModel', runId: 'demo', iteration: 1, id: 'baseline-ties' },
      { t: 'veto', runId: 'demo', iteration: 1, id: 'a0001', undo: 'yes' },
      { t: 'veto', runId: 'demo', iteration: 1, id: 'a0001' },
      { t: 'vetoPair', runId: 'demo', iteration: 1, index: 2 },
      { t: 'command', command: 'selfdev.finalize' },
      { t: 'command', command: 'selfdev.stop', runId: 'a/b' },
    ];
    for (const msg of bad) assert.equal(parseFromWebview(msg), undefined, JSON.stringify(msg));
  });

  it('allows the commands the panel offers, and only allowlisted ones', () => {
    for (const c of ['selfdev.startDemo', 'selfdev.newRun', 'selfdev.runNextIteration', 'selfdev.stop']) {
      assert.ok((WEBVIEW_COMMANDS as readonly string[]).includes(c), c);
    }
    assert.ok(WEBVIEW_COMMANDS.every((c) => c.startsWith('selfdev.')));
  });

  it('has id patterns that match generated algorithms and run folders', () => {
    for (const id of ['a0001', 'a0999', 'a123456']) assert.ok(ALGORITHM_ID_PATTERN.test(id), id);
    for (const id of ['a001', 'a1234567', 'b0001', 'a0001 ', 'A0001']) assert.ok(!ALGORITHM_ID_PATTERN.test(id), id);
    for (const id of ['demo', 'gsm-7b_ties.2', '0run']) assert.ok(RUN_ID_PATTERN.test(id), id);
    for (const id of ['.hidden', '-x', 'a b', 'a/b']) assert.ok(!RUN_ID_PATTERN.test(id), id);
  });

  it('lists every message kind each side handles', () => {
    // Record<Kind, true> fails to compile when a kind is added to or removed from the contract.
    const toWebview: Record<ToWebview['t'], true> = { runs: true, overview: true, iteration: true, detail: true, pair: true, live: true, changed: true, focus: true, error: true };
    const fromWebview: Record<FromWebview['t'], true> = {
      ready: true,
      refresh: true,
      command: true,
      selectRun: true,
      selectIteration: true,
      requestDetail: true,
      requestPair: true,
      openAlgorithm: true,
      exportModel: true,
      veto: true,
      vetoPair: true,
    };
    assert.equal(Object.keys(toWebview).length, 9);
    assert.deepEqual(new Set(POSTED.map((m) => m.t)), new Set(Object.keys(fromWebview)));
  });
});
