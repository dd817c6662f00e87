// A result line cut short by a crash is repaired by the run's own loop, never by a short
// operation running beside it (a repair rewrites the file; a line being appended would be lost).
import * as assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { RunLoop } from '../../src/core/loop/runLoop';
import { RunReader } from '../../src/core/runView';
import { RunStore } from '../../src/core/store/runStore';

describe('repairing a results file', () => {
  it('drops and rewrites a cut-short last line only when allowed to', async () => {
    const store = await RunStore.open(path.join(mkdtempSync(path.join(os.tmpdir(), 'selfdev-repair-')), 'runs'));
    const run = await store.create('r', { 'run.json': JSON.stringify({ id: 'r', config: { seed: '/nowhere' } }) }, 'create');
    const file = path.join(run.dir, 'iterations', '01', 'results.jsonl');
    const text = '{"id":"a0001","status":"ok"}\n{"id":"a0002","sta';
    await run.write('iterations/01/results.jsonl', text);
    const deps = { python: 'python3', algorithmsDir: '/nowhere' };

    const beside = await RunLoop.open(run, { ...deps, repairFiles: false });
    assert.deepEqual((await beside.files.records<{ id: string }>('iterations/01/results.jsonl')).map((r) => r.id), ['a0001']);
    assert.equal(readFileSync(file, 'utf8'), text, 'left as it is');

    const view = new RunReader('r', run.dir);
    assert.deepEqual((await view.results(1)).map((r) => r.id), ['a0001']);
    assert.equal(readFileSync(file, 'utf8'), text, 'a view never rewrites either');

    const logged: string[] = [];
    const own = await RunLoop.open(run, { ...deps, log: (l) => logged.push(l) });
    assert.deepEqual((await own.files.records<{ id: string }>('iterations/01/results.jsonl')).map((r) => r.id), ['a0001']);
    assert.equal(readFileSync(file, 'utf8'), '{"id":"a0001","status":"ok"}\n', 'repaired');
    assert.match(logged.join('\n'), /dropped a record cut short by an interruption/);
  });
});
