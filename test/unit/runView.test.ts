// The read-only views the results panel and the Runs tree show, on a run folder written here.
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { appendFileSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { algorithmDetail, iterationData, lineDiff, pairDetail, referenceGroups, referenceRows, runOverview, RunReader, variantLabel, type ReferenceRow } from '../../src/core/runView';

const CODE = (k: number) => `import numpy as np\n\ndef merge(task_vectors, name):\n    return ${k} * np.mean(np.stack(task_vectors), axis=0)\n`;
const lines = (rs: object[]) => rs.map((r) => JSON.stringify(r)).join('\n') + '\n';
const rec = (id: string, iteration: number, score: number | undefined, extra: object = {}) =>
  score === undefined
    ? { id, iteration, status: 'failed', errorClass: 'timeout', message: 'took too long', kind: 'generated', ...extra }
    : { id, iteration, status: 'ok', score, interval: [Math.round((score - 0.05) * 100) / 100, Math.round((score + 0.05) * 100) / 100], kind: 'generated', factoryVersion: iteration - 1, temperature: 1.2, ...extra };

function writeRun(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'selfdev-view-'));
  const put = (rel: string, text: string) => {
    mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
    writeFileSync(path.join(dir, rel), text);
  };
  put('run.json', JSON.stringify({ id: 'v', name: 'view', config: { temperature: { kind: 'inverse', start: 1.2, decay: 0.2 } } }));
  for (const [t, ids] of [[1, ['a0001', 'a0002', 'a0003']], [2, ['a0001', 'a0002']]] as const) {
    const d = `iterations/0${t}`;
    put(`${d}/samples.jsonl`, lines(ids.map((id) => ({ id, summary: `program ${id}` }))));
    ids.forEach((id, i) => put(`${d}/algorithms/${id}.py`, CODE(t * 10 + i)));
  }
  put('iterations/01/results.jsonl', lines([rec('a0001', 1, 0.3), rec('a0002', 1, undefined), rec('a0003', 1, 0.5), rec('a0001', 1, 0.6, { edited: true, rescored: { at: '2026-12-01T10:00:00Z', reason: 'edit', previousScore: 0.3, previousStatus: 'ok' } })]));
  put('iterations/01/pairs.jsonl', lines([{ chosen: '1/a0001', rejected: '1/a0003', chosenScore: 0.6, rejectedScore: 0.5, why: 'top over bottom' }, { chosen: '1/a0001', rejected: '1/a0002', chosenScore: 0.6, rejectedScore: null, why: 'top over failed', vetoed: true }]));
  put('iterations/01/factory.json', JSON.stringify({ version: 1 }));
  // Iteration 2 is being scored: its last line is still being written.
  writeFileSync(path.join(dir, 'iterations/02/results.jsonl'), lines([rec('a0002', 2, 0.55)]) + '{"id": "a00');
  put('baselines/results.jsonl', lines([
    { id: 'seed', iteration: 0, status: 'ok', score: 0.35, interval: [0.3, 0.4], kind: 'seed' },
    { id: 'baseline-ties-K=1', iteration: 0, status: 'ok', score: 0.45, interval: [0.4, 0.5], kind: 'baseline', summary: 'ties' },
    { id: 'baseline-dare-K=1', iteration: 0, status: 'ok', score: 0.4, interval: [0.35, 0.45], kind: 'baseline', summary: 'dare' },
    { id: 'control-01-c0001', iteration: 1, status: 'ok', score: 0.2, interval: [0.15, 0.25], kind: 'control', file: 'baselines/control/control-01-c0001.py' },
    { id: 'control-02-c0001', iteration: 2, status: 'ok', score: 0.42, interval: [0.37, 0.47], kind: 'control' },
  ]));
  put('vetoes.json', JSON.stringify({ algorithms: ['2/a0001'], pairs: ['1:1/a0001>1/a0002'] }));
  return dir;
}

describe('run views for the panel and the tree', () => {
  const dir = writeRun();
  const reader = new RunReader('v', dir);

  it('overview: per-iteration best, best so far with intervals, references; vetoed and superseded records left out', async () => {
    const o = await runOverview(reader, 'view', 'selfdev/v');
    assert.equal(o.iterations.length, 2);
    const [i1, i2] = o.iterations;
    assert.deepEqual([i1.algorithms, i1.ok, i1.failed], [3, 2, 1], 'the edited a0001 counts once');
    assert.deepEqual(i1.best, { id: 'a0001', score: 0.6, interval: [0.55, 0.65] });
    assert.equal(i1.meanScore, (0.6 + 0.5) / 2);
    assert.equal(i1.complete, true);
    assert.equal(i2.best?.id, 'a0002');
    assert.deepEqual(i2.bestSoFar, { id: '1/a0001', score: 0.6, interval: [0.55, 0.65] });
    assert.equal(i2.complete, false);
    assert.ok(Math.abs(i2.temperature - 1.0) < 1e-12);
    assert.equal(o.seed?.score, 0.35);
    assert.equal(o.bestBaseline?.id, 'baseline-ties-K=1');
    assert.equal(o.control.best?.id, 'control-02-c0001');
    assert.equal(o.finalized, false);
  });

  it('overview after finalize and transfer: the comparisons and the transfer matrix, as summary.json holds them', async () => {
    const dir = writeRun();
    const reader = new RunReader('v', dir);
    assert.equal((await runOverview(reader, 'view', 'selfdev/v')).comparisons, null, 'not finalized: none');
    mkdirSync(path.join(dir, 'finalize'), { recursive: true });
    writeFileSync(path.join(dir, 'finalize', 'sealed.json'), '{}');
    const d = (difference: number) => ({ difference, low: difference - 0.25, high: difference + 0.25, p: 0.01 });
    const summary = {
      sealedTest: { comparisons: { count: 1, items: { gsm: 10 }, list: [{ question: 'best discovered vs seed', a: '1/a0001', b: 'seed', overall: { ...d(0.5), pHolm: 0.01 }, benchmarks: { gsm: d(0.5) } }] } },
      transfer: [
        { set: 'one', retuned: { id: 'baseline-x', test: 0.4 }, algorithms: [{ id: '1/a0001', test: 0.3 }] },
        { set: 'two', retuned: null, algorithms: [{ id: '2/a0002', test: 0.2 }] },
      ],
    };
    writeFileSync(path.join(dir, 'summary.json'), JSON.stringify(summary));
    const ov = await runOverview(reader, 'view', 'selfdev/v');
    assert.deepEqual(ov.comparisons, { count: 1, rows: [{ question: 'best discovered vs seed', a: '1/a0001', b: 'seed', difference: 0.5, low: 0.25, high: 0.75, p: 0.01, pHolm: 0.01 }] });
    assert.deepEqual(ov.transfer, {
      sets: ['one', 'two'],
      rows: [
        { id: '1/a0001', cells: [0.3, null] },
        { id: '2/a0002', cells: [null, 0.2] },
        { id: 'baselines re-tuned on the set', cells: [0.4, null] },
      ],
    });
  });

  it("iteration data: rows best first with flags, pairs with margins, the control's share", async () => {
    const d = await iterationData(reader, 1);
    assert.deepEqual(d.algorithms.map((a) => [a.id, a.status, a.best, a.edited]), [['a0001', 'ok', true, true], ['a0003', 'ok', false, false], ['a0002', 'failed', false, false]]);
    assert.equal(d.algorithms[2].errorClass, 'timeout');
    assert.equal(d.factoryVersion, 1);
    assert.deepEqual(d.pairs.map((p) => [p.chosen, p.rejected, p.margin === null ? null : Number(p.margin.toFixed(3)), p.vetoed]), [['1/a0001', '1/a0003', 0.1, false], ['1/a0001', '1/a0002', null, true]]);
    assert.deepEqual(d.controlScores, [0.2]);
    assert.equal(d.seed, 0.35);
    assert.equal(d.bestBaseline, 0.45);
    const d2 = await iterationData(reader, 2);
    assert.deepEqual(d2.algorithms.map((a) => [a.id, a.status, a.vetoed, a.best]), [['a0002', 'ok', false, true], ['a0001', 'pending', true, false]]);
  });

  it("detail: the code, the failure, the history of an edit, and a diff against the best earlier algorithm", async () => {
    const failed = await algorithmDetail(reader, 1, 'a0002');
    assert.deepEqual(failed.error, { errorClass: 'timeout', message: 'took too long', detail: undefined });
    assert.equal(failed.diff, undefined, 'iteration 1 has no earlier algorithm');
    const edited = await algorithmDetail(reader, 1, 'a0001');
    // Every record, the current last; without git history no commit is named.
    assert.deepEqual(edited.history, [
      { score: 0.3, status: 'ok', reason: 'first score' },
      { score: 0.6, status: 'ok', reason: 'edit', at: '2026-12-01T10:00:00Z' },
    ]);
    const later = await algorithmDetail(reader, 2, 'a0002');
    assert.equal(later.diff?.against, '1/a0001');
    assert.deepEqual(later.diff?.lines.filter((l) => l.op !== ' '), [
      { op: '-', text: '    return 10 * np.mean(np.stack(task_vectors), axis=0)' },
      { op: '+', text: '    return 21 * np.mean(np.stack(task_vectors), axis=0)' },
    ]);
    await assert.rejects(algorithmDetail(reader, 1, 'a0009'), /run v has no algorithm 1\/a0009/);
  });

  it('names the commit that recorded each score of an algorithm', async () => {
    const repo = mkdtempSync(path.join(os.tmpdir(), 'selfdev-history-'));
    const git = (...args: string[]) => execFileSync('git', args, { cwd: repo, encoding: 'utf8' });
    git('init', '-q');
    git('config', 'user.email', 't@example.com');
    git('config', 'user.name', 't');
    mkdirSync(path.join(repo, 'iterations', '01', 'algorithms'), { recursive: true });
    writeFileSync(path.join(repo, 'iterations', '01', 'algorithms', 'a0001.py'), CODE(10));
    const file = path.join(repo, 'iterations', '01', 'results.jsonl');
    const steps: [string, Record<string, unknown>[]][] = [
      ['scored 2 algorithms', [rec('a0002', 1, 0.4), rec('a0001', 1, 0.3)]],
      ['edit a0001: dev 60.0%', [rec('a0001', 1, 0.6, { edited: true, rescored: { at: '2026-12-01T10:00:00Z', reason: 'edit', previousScore: 0.3, previousStatus: 'ok' } })]],
      ['re-evaluate a0002', [rec('a0002', 1, 0.45, { rescored: { at: '2026-12-01T11:00:00Z', reason: 'reevaluate', previousScore: 0.4, previousStatus: 'ok' } })]],
      ['re-evaluate a0001', [rec('a0001', 1, 0.55, { rescored: { at: '2026-12-01T12:00:00Z', reason: 'reevaluate', previousScore: 0.6, previousStatus: 'ok' } })]],
    ];
    for (const [subject, records] of steps) {
      appendFileSync(file, lines(records));
      git('add', '-A');
      git('commit', '-q', '-m', subject);
    }
    const d = await algorithmDetail(new RunReader('h', repo), 1, 'a0001');
    assert.deepEqual(d.history.map((h) => [h.reason, h.score, h.subject]), [
      ['first score', 0.3, 'scored 2 algorithms'],
      ['edit', 0.6, 'edit a0001: dev 60.0%'],
      ['re-evaluation', 0.55, 're-evaluate a0001'],
    ]);
    const hashes = git('log', '--reverse', '--format=%h').trim().split('\n');
    assert.deepEqual(d.history.map((h) => h.commit), [hashes[0], hashes[1], hashes[3]]);
    assert.ok(d.history.every((h) => h.at && !Number.isNaN(Date.parse(h.at))));
  });

  it('pair detail: both programs side by side', async () => {
    const p = await pairDetail(reader, 1, 0);
    assert.equal(p.chosen.ref, '1/a0001');
    assert.equal(p.chosen.code, CODE(10));
    assert.equal(p.rejected.code, CODE(12));
    await assert.rejects(pairDetail(reader, 1, 5), /has no preference pair #6/);
  });

  it('references: seed, then baselines and controls best first', async () => {
    assert.deepEqual((await referenceRows(reader)).map((r) => r.id), ['seed', 'baseline-ties-K=1', 'baseline-dare-K=1', 'control-02-c0001', 'control-01-c0001']);
  });

  it('groups the references: seed, candidates, each baseline method best first with its best variant first, then the controls', () => {
    const ok = (id: string, kind: ReferenceRow['kind'], score: number, summary?: string): ReferenceRow => ({ id, kind, status: 'ok', score, summary });
    const rows: ReferenceRow[] = [
      ok('seed', 'seed', 0.3),
      ok('cand-sub', 'candidate', 0.4, 'sub'),
      ok('baseline-dare-DROP_P=0.2,LAMBDA=0.5,COMBINE=ties', 'baseline', 0.41, 'dare'),
      ok('baseline-dare-DROP_P=0.6,LAMBDA=0.5,COMBINE=task_arithmetic', 'baseline', 0.47, 'dare'),
      { id: 'baseline-dare-DROP_P=0.4,LAMBDA=1.0,COMBINE=ties', kind: 'baseline', status: 'failed', errorClass: 'timeout', summary: 'dare' },
      ok('baseline-task_arithmetic-LAMBDA=0.2', 'baseline', 0.45, 'task_arithmetic'),
      ok('baseline-task_arithmetic-LAMBDA=1.0', 'baseline', 0.5, 'task_arithmetic'),
      ok('baseline-average', 'baseline', 0.33, 'average'),
      ok('control-01-c0001', 'control', 0.2),
      ok('control-01-c0002', 'control', 0.25),
    ];
    const groups = referenceGroups(rows);
    assert.deepEqual(groups.map((g) => [g.kind, g.name, g.best?.score]), [
      ['seed', 'seed', 0.3],
      ['candidate', 'cand-sub', 0.4],
      ['baseline', 'task_arithmetic', 0.5],
      ['baseline', 'dare', 0.47],
      ['baseline', 'average', 0.33],
      ['control', 'control', 0.25],
    ]);
    assert.deepEqual(groups[3].rows.map((r) => variantLabel(r)), [
      'DROP_P=0.6, LAMBDA=0.5, COMBINE=task_arithmetic',
      'DROP_P=0.2, LAMBDA=0.5, COMBINE=ties',
      'DROP_P=0.4, LAMBDA=1.0, COMBINE=ties', // failed: last
    ]);
    assert.equal(variantLabel(rows[7]), 'as written');
  });

  it('lineDiff marks removed and added lines', () => {
    assert.deepEqual(lineDiff('a\nb\nc\n', 'a\nB\nc\nd\n'), [
      { op: ' ', text: 'a' },
      { op: '-', text: 'b' },
      { op: '+', text: 'B' },
      { op: ' ', text: 'c' },
      { op: '+', text: 'd' },
    ]);
  });
});
