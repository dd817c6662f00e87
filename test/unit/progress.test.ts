// The loop's progress in one vocabulary: the phrase every view shows, the share of a command a
// progress bar shows, and the time a phase still needs.
import * as assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { commandFraction, PhaseClock } from '../../src/core/loop/progress';
import { aboutLeft, describeLive, PHASE_WORDS } from '../../src/protocol/webviewMessages';

describe('loop progress', () => {
  it('says each phase the same way everywhere', () => {
    assert.equal(describeLive({ iteration: 0, phase: 'baselines', done: 6, total: 32 }), 'scoring baselines 6/32');
    assert.equal(describeLive({ iteration: 2, phase: 'score', done: 20, total: 32 }), 'iteration 2 · scoring 20/32');
    assert.equal(describeLive({ iteration: 2, phase: 'control', done: 6, total: 32, secondsLeft: 74 }), 'iteration 2 · scoring the control 6/32 · about 1 min 15 s left');
    assert.equal(describeLive({ iteration: 1, phase: 'pairs' }), 'iteration 1 · pairing');
    // Every phase of the loop has its words.
    for (const p of ['baselines', 'generate', 'score', 'control', 'pairs', 'refine', 'finalize', 'transfer']) assert.ok(PHASE_WORDS[p], p);
  });

  it('rounds the time left to what an estimate can claim', () => {
    assert.deepEqual([2, 12, 59, 60, 74, 119, 3599, 3600, 5400].map(aboutLeft), [
      'about 5 s left',
      'about 10 s left',
      'about 60 s left',
      'about 1 min left',
      'about 1 min 15 s left',
      'about 2 min left',
      'about 60 min left',
      'about 1 h left',
      'about 1 h 30 min left',
    ]);
  });

  it('moves a command through its iterations, phase by phase, to 1', () => {
    const plan = (p: { iteration: number; phase: string; done?: number; total?: number }) => commandFraction(p, 2, 1);
    const steps = [
      plan({ iteration: 0, phase: 'baselines', total: 30 }),
      plan({ iteration: 0, phase: 'baselines', done: 30, total: 30 }),
      plan({ iteration: 1, phase: 'generate', total: 8 }),
      plan({ iteration: 1, phase: 'score', done: 4, total: 8 }),
      plan({ iteration: 1, phase: 'control', done: 8, total: 8 }),
      plan({ iteration: 1, phase: 'refine', done: 10, total: 10 }),
      plan({ iteration: 2, phase: 'generate', total: 8 }),
      plan({ iteration: 2, phase: 'refine', done: 10, total: 10 }),
    ];
    assert.deepEqual(steps, [...steps].sort((a, b) => a - b), 'never goes back');
    assert.equal(steps[0], 0);
    assert.ok(Math.abs(steps.at(-1)! - 1) < 1e-9);
    assert.ok(Math.abs(steps[5] - 0.5) < 1e-9, 'one of two iterations done');
    // A run continued from iteration 3: its first planned iteration is 3.
    assert.ok(Math.abs(commandFraction({ iteration: 3, phase: 'score', done: 5, total: 10 }, 1, 3) - (0.2 + 0.1 + 0.225)) < 1e-9);
    assert.equal(commandFraction({ iteration: 1, phase: 'finalize' }, 1, 1), 0, 'not part of an iteration');
  });

  it('estimates the time left from the pace of the phase so far', () => {
    let t = 0;
    const clock = new PhaseClock(() => t);
    assert.equal(clock.update('score', 1, undefined, 40), undefined, 'a phase starts');
    t = 1000;
    assert.equal(clock.update('score', 1, 10, 40), undefined, 'resumed with 10 done: the clock starts at the first item seen');
    t = 2000;
    assert.equal(clock.update('score', 1, 11, 40), undefined, 'too little seen');
    t = 6000;
    assert.equal(clock.update('score', 1, 20, 40), 10, '10 items in 5 s: 20 left take 10 s');
    t = 7000;
    assert.equal(clock.update('control', 1, 1, 40), undefined, 'a new phase starts over');
  });
});
