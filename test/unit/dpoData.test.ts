// An LLM iteration's DPO data as the loop writes it from the run's own files: the prompt the
// generator saw, each algorithm's raw completion, an algorithm a person edited since as its
// edited file, the held-out split by rejected algorithm, and pairs without a completion left out.
import * as assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { defaultLlmFactory, parseRunConfig } from '../../src/core/config/runConfig';
import { normaliseCode } from '../../src/core/factory/normaliseCode';
import type { RunContext } from '../../src/core/loop/context';
import { writeDpoData } from '../../src/core/loop/llmRefinement';
import { CurationError, setPairVeto } from '../../src/core/loop/curation';
import { algorithmFile, completionsFile, factoryFile, pairsFile, promptFile, samplesFile } from '../../src/core/run/layout';
import { codeHash, type PairRecord } from '../../src/core/run/records';
import { RunFiles } from '../../src/core/run/runFiles';
import { RunStore } from '../../src/core/store/runStore';

const code = (k: number) => `def merge(task_vectors, name):\n    return task_vectors[0] * ${k}\n`;
const completion = (k: number) => `Scale the first one by ${k}.\n\`\`\`python\n${code(k)}\`\`\`\n`;

describe('DPO data of an LLM iteration, from the run', () => {
  it('writes the prompt and raw completions, an edited algorithm as its file, and holds out by rejected algorithm', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'selfdev-dpo-data-'));
    const store = await RunStore.open(path.join(dir, 'runs'));
    const run = await store.create('r', { 'run.json': '{}\n' }, 'create');
    const ids = ['a0001', 'a0002', 'a0003', 'a0004', 'a0005'];
    await run.write(promptFile(1), '<s>Write a merge.\n');
    await run.write(completionsFile(1), ids.map((id, i) => JSON.stringify({ id, index: i, text: completion(i + 1) })).join('\n') + '\n');
    await run.write(samplesFile(1), ids.map((id, i) => JSON.stringify({ id, completion: i, summary: '', codeHash: codeHash(normaliseCode(code(i + 1))) })).join('\n') + '\n');
    for (const [i, id] of ids.entries()) await run.write(algorithmFile(1, id), code(i + 1));
    // A person edited a0002 after it was generated.
    const edited = 'def merge(task_vectors, name):\n    return sum(task_vectors) / len(task_vectors)\n';
    await run.write(algorithmFile(1, 'a0002'), edited);

    const config = parseRunConfig({ seed: 's', candidates: ['c'], benchmarks: { g: { dev: 'd' } }, factory: { kind: 'llm', refine: { heldOut: 0.34 } } }, path.join(dir, 'x.json'));
    const ctx = { config, files: new RunFiles(run), run } as unknown as RunContext;
    const pairs: PairRecord[] = [
      ...['1/a0001', '1/a0002'].flatMap((c) => ['1/a0003', '1/a0004', '1/a0005'].map((r) => ({ chosen: c, rejected: r, chosenScore: 0.5, rejectedScore: 0.1, why: 'test' }))),
      { chosen: '1/a0001', rejected: '1/a0009', chosenScore: 0.5, rejectedScore: null, why: 'no such algorithm' },
    ];
    const f = config.factory.kind === 'llm' ? config.factory : defaultLlmFactory();
    const { record, train, heldOut } = await writeDpoData(ctx, f, 1, pairs);

    assert.equal(record.skipped, 1, 'a pair without a completion is left out');
    assert.equal(train.length + heldOut.length, 6);
    assert.equal(new Set(record.heldOutPairs.map((p) => p.split('>')[1])).size, 1, '34% of three rejected algorithms: one');
    assert.equal(heldOut.length, 2, 'both chosen against the held-out rejected');
    const rows = [...train, ...heldOut];
    assert.ok(rows.every((r) => r.prompt === '<s>Write a merge.\n'));
    const byPair = new Map([...record.trainPairs, ...record.heldOutPairs].map((p, i) => [p, rows[i]]));
    assert.equal(byPair.get('1/a0001>1/a0003')!.chosen, completion(1), 'the raw completion');
    assert.equal(byPair.get('1/a0002>1/a0003')!.chosen, '```python\n' + edited.trimEnd() + '\n```\n', 'the edited file, fenced');
    assert.equal(byPair.get('1/a0001>1/a0004')!.rejected, completion(4));
    // The files are the rows, in TRL's format, with their hashes recorded.
    const lines = readFileSync(path.join(run.dir, 'iterations', '01', 'dpo', 'train.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as object);
    assert.deepEqual(lines, train);
    assert.equal(record.train.rows, train.length);
    assert.match(record.train.sha256, /^[0-9a-f]{64}$/);
  });
});

describe('pairs of an LLM iteration whose refinement is deferred', () => {
  it('can still be vetoed: they are selected again when the refinement runs', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'selfdev-deferred-'));
    const store = await RunStore.open(path.join(dir, 'runs'));
    const run = await store.create('r', { 'run.json': '{}\n' }, 'create');
    const pair = { chosen: '1/a0001', rejected: '1/a0002', chosenScore: 0.5, rejectedScore: 0.1, why: 'test' };
    await run.write(pairsFile(1), JSON.stringify(pair) + '\n');
    const factory = (status: string) => JSON.stringify({ kind: 'llm', version: 0, wrote: 0, refinement: { status, reason: 'r' } });
    await run.write(factoryFile(1), factory('deferred'));
    const ctx = { files: new RunFiles(run), run, header: { id: 'r' }, commit: (m: string) => run.commit(m) } as unknown as RunContext;
    assert.equal(await ctx.files.refined(1), false);
    assert.equal(await ctx.files.finished(1), true);
    assert.equal((await setPairVeto(ctx, 1, 0, true)).vetoed, true);
    // Once refined, the pairs have been used: vetoing one is refused with what to do instead.
    await run.write(factoryFile(1), factory('refined'));
    await assert.rejects(setPairVeto(ctx, 1, 0, false), (err: unknown) => err instanceof CurationError && /already refined with these pairs/.test((err as Error).message));
  });
});
