import * as assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { listRuns } from '../../src/core/runIndex';
import { algorithmRows, RunReader } from '../../src/core/runView';

function runsFolder(): string {
  return mkdtempSync(path.join(os.tmpdir(), 'selfdev-unit-runs-'));
}

function makeRun(root: string, dir: string, runJson: string, iterations: string[] = []): void {
  mkdirSync(path.join(root, dir, 'iterations'), { recursive: true });
  writeFileSync(path.join(root, dir, 'run.json'), runJson);
  for (const it of iterations) mkdirSync(path.join(root, dir, 'iterations', it));
}

describe('listRuns', () => {
  it('returns no runs for a folder that does not exist', async () => {
    assert.deepEqual(await listRuns(path.join(os.tmpdir(), 'selfdev-no-such-folder-x')), []);
  });

  it('lists run folders newest first with their iterations in order, ignoring other folders', async () => {
    const root = runsFolder();
    makeRun(root, 'old', JSON.stringify({ id: 'old', createdAt: '2026-01-01T00:00:00Z' }), ['02', '01', 'notes']);
    makeRun(root, 'new', JSON.stringify({ id: 'new', name: 'Newest', createdAt: '2026-06-01T00:00:00Z' }), ['10']);
    mkdirSync(path.join(root, 'not-a-run'));
    const runs = await listRuns(root);
    assert.deepEqual(
      runs.map((r) => [r.id, r.name, r.iterations]),
      [
        ['new', 'Newest', [10]],
        ['old', 'old', [1, 2]],
      ],
    );
    assert.equal(runs[0].dir, path.join(root, 'new'));
    assert.equal(runs[0].problem, undefined);
  });

  it('keeps a damaged run listed, with a problem that names the file', async () => {
    const root = runsFolder();
    makeRun(root, 'broken', '{"id": "broken",');
    makeRun(root, 'array', '[1, 2]');
    makeRun(root, 'noid', '{"name": "x"}');
    const runs = await listRuns(root);
    const byDir = Object.fromEntries(runs.map((r) => [path.basename(r.dir), r.problem ?? '']));
    assert.match(byDir.broken, /broken[\\/]run\.json: not valid JSON/);
    assert.match(byDir.array, /expected a JSON object/);
    assert.match(byDir.noid, /field "id" \(a string\) is missing/);
  });

  it('reports a runs location that is not a folder', async () => {
    const root = runsFolder();
    const file = path.join(root, 'file');
    writeFileSync(file, 'x');
    await assert.rejects(listRuns(file), /Cannot read the runs folder/);
  });

  it("lists an iteration's algorithms best first, failed and pending last", async () => {
    const root = runsFolder();
    makeRun(root, 'r', '{"id":"r"}', ['01']);
    const it = path.join(root, 'r', 'iterations', '01');
    mkdirSync(path.join(it, 'algorithms'));
    for (const a of ['a0001', 'a0002', 'a0003', 'a0004']) writeFileSync(path.join(it, 'algorithms', `${a}.py`), 'def merge(t, n): return t[0]\n');
    writeFileSync(
      path.join(it, 'results.jsonl'),
      [{ id: 'a0001', status: 'ok', score: 0.2 }, { id: 'a0002', status: 'failed', errorClass: 'timeout' }, { id: 'a0003', status: 'ok', score: 0.5 }].map((r) => JSON.stringify(r)).join('\n') + '\n{"id": "a00',
    );
    const list = await algorithmRows(new RunReader('r', path.join(root, 'r')), 1);
    assert.deepEqual(list.map((a) => [a.id, a.status, a.best]), [['a0003', 'ok', true], ['a0001', 'ok', false], ['a0002', 'failed', false], ['a0004', 'pending', false]]);
  });
});
