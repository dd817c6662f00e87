// Steering a real run on the demo models: pause points, vetoes of algorithms and pairs, edits
// scored again and committed with their result, and what later iterations then see.
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CurationError, rescoreAlgorithm, setAlgorithmVeto, setPairVeto } from '../../src/core/loop/curation';
import type { PairRecord, ScoredRecord } from '../../src/core/run/records';
import type { PauseRequest, RunLoop } from '../../src/core/loop/runLoop';
import { algorithmDetail, iterationData, runOverview, RunReader } from '../../src/core/runView';
import { smallRun, type SmallRun } from './support/smallRun';

const git = (cwd: string, ...args: string[]) => execFileSync('git', args, { cwd, encoding: 'utf8' }).trim();
const jsonl = <T>(file: string): T[] => readFileSync(file, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as T);

describe('steering a run: pauses, vetoes, edits', () => {
  let s: SmallRun;
  let loop: RunLoop;
  const pauses: PauseRequest[] = [];
  let results: string;
  let pairsFile: string;

  before(async () => {
    // Seed 6 gives iteration 1 distinct scores, so its elites can beat iteration 2's rejected.
    s = await smallRun({ pairs: { chosenTop: 0.4, rejectedBottom: 0.4 }, randomSeed: 6 });
    results = path.join(s.run.dir, 'iterations', '01', 'results.jsonl');
    pairsFile = path.join(s.run.dir, 'iterations', '01', 'pairs.jsonl');
    loop = await s.open({
      pauseAt: ['afterGeneration', 'beforeRefinement'],
      onPause: async (p) => {
        pauses.push(p);
        if (p.point === 'afterGeneration') {
          // Review before scoring: veto one algorithm, edit another.
          assert.equal(await setAlgorithmVeto(loop, 1, 'a0002', true), true);
          const file = path.join(s.run.dir, 'iterations', '01', 'algorithms', 'a0003.py');
          writeFileSync(file, readFileSync(file, 'utf8') + '\n# reviewed by a person\nSCALE_NOTE = 1\n');
        } else {
          const pairs = jsonl<PairRecord>(pairsFile);
          assert.ok(pairs.length >= 2, `expected pairs to review, got ${pairs.length}`);
          await setPairVeto(loop, 1, 0, true);
        }
      },
    });
    await loop.iterate(1);
  });
  after(() => s?.dispose());

  it('waits at both pause points, in order, with what there is to review', () => {
    assert.deepEqual(pauses.map((p) => [p.point, p.iteration]), [['afterGeneration', 1], ['beforeRefinement', 1]]);
    assert.match(pauses[0].detail, /6 algorithms generated/);
  });

  it('does not score an algorithm vetoed before scoring, and marks one edited before scoring', () => {
    const recs = jsonl<ScoredRecord>(results);
    assert.deepEqual(recs.map((r) => r.id).sort(), ['a0001', 'a0003', 'a0004', 'a0005', 'a0006']);
    assert.equal(recs.find((r) => r.id === 'a0003')?.edited, true);
    assert.equal(recs.find((r) => r.id === 'a0001')?.edited, undefined);
  });

  it('keeps a vetoed pair in pairs.jsonl, marked, and leaves it out of refinement', () => {
    const pairs = jsonl<PairRecord>(pairsFile);
    assert.equal(pairs[0].vetoed, true);
    assert.ok(pairs.slice(1).every((p) => !p.vetoed));
    const factory = JSON.parse(readFileSync(path.join(s.run.dir, 'iterations', '01', 'factory.json'), 'utf8')) as { pairs: number };
    assert.equal(factory.pairs, pairs.length - 1);
    const log = git(s.run.dir, 'log', '--format=%s');
    assert.match(log, /^veto 1\/a0002$/m);
    assert.match(log, new RegExp(`^veto pair ${pairs[0].chosen.replace('/', '\\/')} > ${pairs[0].rejected.replace('/', '\\/')} of iteration 1$`, 'm'));
  });

  it('refuses to veto a pair of an iteration already refined, saying what to do instead', async () => {
    await assert.rejects(setPairVeto(loop, 1, 1, true), (err: Error) => err instanceof CurationError && /already refined with these pairs; veto .* to keep them out of later refinements/.test(err.message));
    await assert.rejects(setPairVeto(loop, 1, 99, true), /has no preference pair #100/);
    await assert.rejects(setAlgorithmVeto(loop, 1, 'a0099', true), /has no algorithm 1\/a0099/);
  });

  it('scores an edit and commits the code and its result together; the earlier result stays', async () => {
    const file = path.join(s.run.dir, 'iterations', '01', 'algorithms', 'a0001.py');
    const before = jsonl<ScoredRecord>(results).find((r) => r.id === 'a0001')!;
    // A person replaces the algorithm with plain averaging of the task vectors.
    writeFileSync(file, 'import numpy as np\n\ndef merge(task_vectors, name):\n    return np.mean(np.stack(task_vectors), axis=0)\n');
    const out = await rescoreAlgorithm(loop, 1, 'a0001', 'edit');
    assert.equal(out.scored, true);
    assert.equal(out.record.edited, true);
    assert.equal(out.record.rescored?.reason, 'edit');
    assert.equal(out.record.rescored?.previousScore, before.status === 'ok' ? before.score : null);
    assert.match(out.message, /^edit a0001: (\d\.\d{3}|failed \(\w+\)) -> \d\.\d{3} \(iteration 1\)$/);
    assert.equal(git(s.run.dir, 'log', '-1', '--format=%s'), out.message);
    const changed = git(s.run.dir, 'show', '--name-only', '--format=', 'HEAD').split('\n').sort();
    assert.ok(changed.includes('iterations/01/algorithms/a0001.py') && changed.includes('iterations/01/results.jsonl'), changed.join(', '));
    const history = jsonl<ScoredRecord>(results).filter((r) => r.id === 'a0001');
    assert.equal(history.length, 2);
    assert.deepEqual(history[0], before);

    const detail = await algorithmDetail(new RunReader('s', s.run.dir), 1, 'a0001');
    assert.equal(detail.row.edited, true);
    assert.equal(detail.row.score, out.record.score);
    // Every score, the current last, each with the commit that recorded it.
    assert.deepEqual(detail.history.map((h) => [h.reason, h.score]), [['first score', before.score], ['edit', out.record.score]]);
    assert.ok(detail.history.every((h) => /^[0-9a-f]{7,}$/.test(h.commit ?? '')), JSON.stringify(detail.history));
    assert.match(detail.history[1].subject ?? '', /^edit a0001/);

    const again = await rescoreAlgorithm(loop, 1, 'a0001', 'edit');
    assert.equal(again.scored, false, 'saving unchanged code scores nothing');
    assert.equal(jsonl<ScoredRecord>(results).filter((r) => r.id === 'a0001').length, 2);
  });

  it('re-evaluates unchanged code afresh, bypassing the journal', async () => {
    const out = await rescoreAlgorithm(loop, 1, 'a0004', 'reevaluate');
    assert.equal(out.scored, true);
    assert.equal(out.record.reusedFrom, undefined);
    assert.equal(out.record.edited, undefined);
    assert.match(git(s.run.dir, 'log', '-1', '--format=%s'), /^re-evaluate a0004: /);
  });

  it("leaves a vetoed elite out of the next iteration's pairs, and restores it on undo", async () => {
    const reader = new RunReader('s', s.run.dir);
    const best = (await iterationData(reader, 1)).algorithms.find((a) => a.best)!;
    assert.ok(best, 'iteration 1 has a best algorithm');
    assert.equal(await setAlgorithmVeto(loop, 1, best.id, true), true);
    assert.equal(await setAlgorithmVeto(loop, 1, best.id, true), false, 'a second veto changes nothing');
    const overview = await runOverview(reader, 'small', 'selfdev/s');
    assert.notEqual(overview.iterations[0].best?.id, best.id);

    const next = await s.open();
    await next.iterate(1);
    const pairs = jsonl<PairRecord>(path.join(s.run.dir, 'iterations', '02', 'pairs.jsonl'));
    assert.ok(pairs.length > 0);
    const ref = `1/${best.id}`;
    assert.ok(!pairs.some((p) => p.chosen === ref || p.rejected === ref), `${ref} must not be in iteration 2's pairs`);
    // The other elites of iteration 1 still take part: each is paired with every rejected
    // algorithm of iteration 2 that it beats (the default policy keeps the best 3).
    const scoreOf = new Map<string, number>();
    for (const t of [1, 2]) for (const a of (await iterationData(reader, t)).algorithms) if (a.score !== undefined) scoreOf.set(`${t}/${a.id}`, a.score);
    const elites = (await iterationData(reader, 1)).algorithms.filter((a) => a.status === 'ok' && !a.vetoed).sort((x, y) => y.score! - x.score!).slice(0, 3).map((a) => `1/${a.id}`);
    const rejected = [...new Set(pairs.map((p) => p.rejected))];
    const expected = elites.flatMap((e) => rejected.filter((r) => scoreOf.get(r)! < scoreOf.get(e)! - 1e-9).map((r) => `${e}>${r}`));
    const got = new Set(pairs.map((p) => `${p.chosen}>${p.rejected}`));
    assert.ok(expected.length > 0, `the scenario has an elite that beats a rejected algorithm: ${JSON.stringify([...scoreOf])}`);
    assert.deepEqual(expected.filter((k) => !got.has(k)), [], 'every pair an elite of iteration 1 earns is there');

    assert.equal(await setAlgorithmVeto(loop, 1, best.id, false), true);
    assert.match(git(s.run.dir, 'log', '-1', '--format=%s'), new RegExp(`^undo veto of ${ref.replace('/', '\\/')}$`));
    const data = await iterationData(reader, 1);
    assert.equal(data.algorithms.find((a) => a.id === best.id)?.vetoed, false);
    assert.equal(data.algorithms.find((a) => a.id === 'a0002')?.vetoed, true);
    assert.equal(data.algorithms.find((a) => a.id === 'a0002')?.status, 'pending');
  });
});
