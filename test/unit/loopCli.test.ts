// The whole loop through the CLI, on the demo models with small settings: a temporary
// repository, a backend killed with SIGKILL mid-iteration and a resume that loses and duplicates
// nothing, the sealed test split, and the user's checkout left as it was.
import * as assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { CLI, git, jsonLines, selfdev, selfdevWith, twoBenchmarkConfig } from './support/cli';

const smallConfig = twoBenchmarkConfig;
const lines = jsonLines;

describe('the loop from the CLI', () => {
  it('runs iterations, finalizes once, and records everything in git', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'selfdev-loop-'));
    const runs = path.join(dir, 'runs');
    assert.equal(selfdev(dir, 'new', smallConfig(dir), '--runs', runs, '--id', 'r').code, 0);
    const it = selfdev(dir, 'iterate', 'r', '--runs', runs, '-n', '2');
    assert.equal(it.code, 0, it.err);
    const run = path.join(runs, 'r');
    for (const t of ['01', '02']) {
      const results = lines(path.join(run, 'iterations', t, 'results.jsonl'));
      assert.deepEqual(results.map((r) => r.id), ['a0001', 'a0002', 'a0003', 'a0004', 'a0005', 'a0006']);
      assert.ok(results.every((r) => r.isolation === 'kernel'), 'every algorithm ran in the kernel sandbox');
      assert.ok(existsSync(path.join(run, 'iterations', t, 'algorithms', 'a0006.py')));
      assert.ok(existsSync(path.join(run, 'iterations', t, 'prompt.md')));
      const factory = JSON.parse(readFileSync(path.join(run, 'iterations', t, 'factory.json'), 'utf8'));
      assert.equal(factory.version, Number(t));
    }
    const controls = lines(path.join(run, 'baselines', 'results.jsonl')).filter((r) => r.kind === 'control');
    assert.equal(controls.length, 12);
    // The control samples at the factory's temperature of the same iteration.
    for (const t of [1, 2]) {
      const factoryT = lines(path.join(run, 'iterations', `0${t}`, 'results.jsonl'))[0].temperature;
      assert.ok(controls.filter((r) => String(r.id).startsWith(`control-0${t}-`)).every((r) => r.temperature === factoryT), `iteration ${t}`);
    }
    assert.notEqual(controls[0].temperature, controls[11].temperature);
    assert.deepEqual(git(run, 'tag').split('\n'), ['selfdev/r/iteration-01', 'selfdev/r/iteration-02']);

    const fin = selfdev(dir, 'finalize', 'r', '--runs', runs, '--json');
    assert.equal(fin.code, 0, fin.err);
    const summary = JSON.parse(fin.out);
    assert.equal(summary.sealedTest.evaluations, 4); // 2 finalists and the control's 2, once
    assert.equal(summary.sealedTest.finalists.length, 2);
    assert.equal(summary.sealedTest.control.length, 2);
    assert.deepEqual(summary.sealedTest.references, []); // no baselines in this config
    const factoryVsControl = summary.sealedTest.comparisons.list.map((c: { question: string }) => c.question);
    assert.deepEqual(factoryVsControl, ['factory vs control, best by dev', 'factory vs control, mean of the top 2 by dev']);
    for (const c of summary.sealedTest.comparisons.list) {
      assert.ok(c.overall.low <= c.overall.difference && c.overall.difference <= c.overall.high);
      assert.ok(c.overall.p > 0 && c.overall.p <= 1 && c.overall.pHolm >= c.overall.p);
      assert.deepEqual(Object.keys(c.benchmarks), ['gsm', 'math']);
    }
    assert.ok(summary.iterations.every((it: { refinement: unknown }) => it.refinement !== null));
    assert.equal(summary.iterations.length, 2);
    const again = selfdev(dir, 'finalize', 'r', '--runs', runs);
    assert.equal(again.code, 1);
    assert.match(again.err, /already finalized: the test split is scored only once/);

    const status = selfdev(dir, 'status', 'r', '--runs', runs);
    assert.equal(status.code, 0, status.err);
    assert.match(status.out, /iteration 2 \(T=1\.000\): best \d+\.\d%/);
    assert.match(status.out, /sealed test \(4 evaluations, once\)/);
    assert.match(status.out, /vs control at the same T \(mean \d+\.\d%, 6\/6 ran\): mean [+-]\d+\.\d \[/);
    assert.match(status.out, /paired comparisons on the sealed test \(2 comparisons; items: gsm \d+, math \d+/);

    const best = summary.iterations[0].best.id as string;
    const tr = selfdev(dir, 'transfer', 'r', `1/${best}`, '--to', 'other', '--runs', runs);
    assert.equal(tr.code, 0, tr.err);
    assert.match(tr.out, new RegExp(`1/${best} on "other": \\d+\\.\\d% on test \\[[^\\]]+\\] \\(dev \\d\\.\\d{3}\\); vs the re-tuned baseline [+-]\\d+\\.\\d \\[`));
    assert.match(tr.out, /re-tuned baseline on "other" \(best of the grid on its dev split\): baseline-\S+: \d+\.\d% on test/);
    // The paper's protocol: the whole baseline grid re-tuned on the set's dev split, then the
    // algorithm and the best re-tuned baseline on its test split, once.
    const devRecords = lines(path.join(run, 'transfer', 'other', 'dev.jsonl'));
    assert.ok(devRecords.filter((r) => r.kind === 'baseline').length >= 20, 'the grid, re-tuned');
    assert.ok(devRecords.some((r) => r.id === `1/${best}`));
    const testRecords = lines(path.join(run, 'transfer', 'other', 'test.jsonl'));
    assert.equal(testRecords.length, 2);
    assert.ok(devRecords.every((r) => !r.reusedFrom), 'nothing scored with the run\'s own candidates is reused');
    const repeat = selfdev(dir, 'transfer', 'r', `1/${best}`, '--to', 'other', '--runs', runs);
    assert.equal(repeat.code, 0, repeat.err);
    assert.equal(lines(path.join(run, 'transfer', 'other', 'test.jsonl')).length, 2, 'the test split is scored once per algorithm and set');
    const after = JSON.parse(selfdev(dir, 'status', 'r', '--runs', runs, '--json').out);
    assert.equal(after.transfer[0].set, 'other');
    assert.equal(after.transfer[0].algorithms[0].id, `1/${best}`);
    assert.ok(after.transfer[0].algorithms[0].vsRetuned.p > 0);
    assert.match(selfdev(dir, 'transfer', 'r', `1/${best}`, '--to', 'nope', '--runs', runs).err, /no transfer set "nope" \(it has: other\)/);
  });

  it('exports the best merged model as a checkpoint that scores what its record says, and refuses a merge that differs from the scored one', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'selfdev-export-'));
    const runs = path.join(dir, 'runs');
    const config = smallConfig(dir, { randomControl: false });
    assert.equal(selfdev(dir, 'new', config, '--runs', runs, '--id', 'x').code, 0);
    const it = selfdev(dir, 'iterate', 'x', '--runs', runs);
    assert.equal(it.code, 0, it.err);
    const run = path.join(runs, 'x');
    const results = lines(path.join(run, 'iterations', '01', 'results.jsonl'));
    const best = results.filter((r) => r.status === 'ok').sort((a, b) => Number(b.score) - Number(a.score) || String(a.id).localeCompare(String(b.id)))[0];
    assert.ok(best.deltaStats, 'the record keeps the merge statistics');

    const out = path.join(dir, 'exported');
    const exported = selfdev(dir, 'export', 'model', 'x', 'best', '--out', out, '--runs', runs, '--json');
    assert.equal(exported.code, 0, exported.err);
    const result = JSON.parse(exported.out) as { status: string; weightFiles: string[]; provenance: Record<string, unknown> };
    assert.equal(result.status, 'ok');
    assert.deepEqual(result.weightFiles, ['model.safetensors']);
    const provenance = JSON.parse(readFileSync(path.join(out, 'selfdev-export.json'), 'utf8'));
    assert.equal(provenance.ref, `1/${best.id}`);
    assert.equal(provenance.reproducibilityChecked, true);
    assert.equal(provenance.runCommit, git(run, 'rev-parse', 'HEAD'));
    assert.deepEqual(provenance.dev.interval, best.interval);
    const card = readFileSync(path.join(out, 'README.md'), 'utf8');
    assert.match(card, new RegExp(`\\| dev \\(mean over benchmarks\\) \\| ${(100 * Number(best.score)).toFixed(1)}% \\|`));
    assert.ok(card.includes(readFileSync(path.join(run, 'iterations', '01', 'algorithms', `${best.id}.py`), 'utf8').trimEnd()), 'the card shows the code');
    // The exported folder, scored on its own by the engine, is the model that was scored.
    const evaluated = selfdev(dir, 'eval', '--benchmark', config, '--model', out, '--split', 'dev', '--json');
    assert.equal(evaluated.code, 0, evaluated.err);
    const accuracy = Object.fromEntries((JSON.parse(evaluated.out).results as { name: string; accuracy: number }[]).map((r) => [r.name, r.accuracy]));
    assert.deepEqual(accuracy, best.scores);

    // An export never overwrites.
    const again = selfdev(dir, 'export', 'model', 'x', `1/${best.id}`, '--out', out, '--runs', runs);
    assert.equal(again.code, 1);
    assert.match(again.err, /already exists and is not empty/);
    // A record whose merge statistics no longer match (other models at the same paths, or a
    // nondeterministic algorithm): refused, nothing written.
    const file = path.join(run, 'iterations', '01', 'results.jsonl');
    const edited = lines(file).map((r) => (r.id === best.id ? { ...r, deltaStats: { ...(r.deltaStats as object), relativeNorm: Number((r.deltaStats as { relativeNorm: number }).relativeNorm) * 1.5 } } : r));
    writeFileSync(file, edited.map((r) => `${JSON.stringify(r)}\n`).join(''));
    const target = best;
    const refused = selfdev(dir, 'export', 'model', 'x', `1/${target.id}`, '--out', path.join(dir, 'refused'), '--runs', runs);
    assert.equal(refused.code, 1);
    assert.match(refused.err, /differs from the one that was scored; nothing was exported.*relativeNorm/);
    assert.equal(existsSync(path.join(dir, 'refused')), false);
    assert.match(selfdev(dir, 'export', 'model', 'x', '9/a0001', '--out', path.join(dir, 'n'), '--runs', runs).err, /has no algorithm 9\/a0001/);
  });

  it('refuses generated code on a machine without kernel isolation, records nothing, and runs it unisolated only when allowed', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'selfdev-noiso-'));
    const runs = path.join(dir, 'runs');
    const noBwrap = { SELFDEV_BWRAP: path.join(dir, 'no-bwrap') };
    assert.equal(selfdev(dir, 'new', smallConfig(dir, { randomControl: false }), '--runs', runs, '--id', 'n').code, 0);
    const refused = selfdevWith(noBwrap, dir, 'iterate', 'n', '--runs', runs);
    assert.equal(refused.code, 1);
    assert.match(refused.err, /kernel isolation is not available: bubblewrap \(bwrap\) is not installed/);
    assert.match(refused.err, /apt-get install bubblewrap/);
    assert.match(refused.err, /--allow-unisolated/);
    const run = path.join(runs, 'n');
    const recorded = existsSync(path.join(run, 'baselines', 'results.jsonl')) ? lines(path.join(run, 'baselines', 'results.jsonl')) : [];
    assert.deepEqual(recorded.filter((r) => r.kind !== 'seed'), []); // no algorithm recorded as failed for it
    assert.ok(!existsSync(path.join(run, 'iterations', '01', 'results.jsonl')));

    const allowed = selfdevWith(noBwrap, dir, 'iterate', 'n', '--runs', runs, '--allow-unisolated');
    assert.equal(allowed.code, 0, allowed.err);
    const results = lines(path.join(run, 'iterations', '01', 'results.jsonl'));
    assert.equal(results.length, 6);
    assert.ok(results.every((r) => r.isolation === 'unisolated'), JSON.stringify(results.map((r) => r.isolation)));
  });

  it('continues a run made before the GSM answer mode existed, reading it as strict', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'selfdev-oldrun-'));
    const runs = path.join(dir, 'runs');
    assert.equal(selfdev(dir, 'new', smallConfig(dir, { randomControl: false, baselines: false }), '--runs', runs, '--id', 'old').code, 0);
    const run = path.join(runs, 'old');
    const header = JSON.parse(readFileSync(path.join(run, 'run.json'), 'utf8'));
    delete header.config.eval.gsmAnswer; // run.json as the previous version wrote it
    writeFileSync(path.join(run, 'run.json'), JSON.stringify(header, null, 1) + '\n');
    git(run, '-c', 'user.name=Test', '-c', 'user.email=test@example.com', 'commit', '--quiet', '-am', 'run.json of an earlier version');
    const it = selfdev(dir, 'iterate', 'old', '--runs', runs);
    assert.equal(it.code, 0, it.err);
    const results = lines(path.join(run, 'iterations', '01', 'results.jsonl'));
    assert.equal(results.length, 6);
    assert.ok(results.every((r) => r.gsmAnswer === 'strict'));
    assert.equal(selfdev(dir, 'status', 'old', '--runs', runs).code, 0);
  });

  it('scores each candidate model as a reference, on dev and once on the sealed test, and compares the best discovered with every reference', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'selfdev-refs-'));
    const runs = path.join(dir, 'runs');
    assert.equal(selfdev(dir, 'new', smallConfig(dir, { baselines: true, finalists: 2 }), '--runs', runs, '--id', 'refs').code, 0);
    const it = selfdev(dir, 'iterate', 'refs', '--runs', runs);
    assert.equal(it.code, 0, it.err);
    const run = path.join(runs, 'refs');
    const config = JSON.parse(readFileSync(path.join(run, 'run.json'), 'utf8')).config as { candidates: string[] };
    const base = lines(path.join(run, 'baselines', 'results.jsonl'));
    const candidates = base.filter((r) => r.kind === 'candidate');
    assert.deepEqual(candidates.map((r) => r.id), config.candidates.map((_, k) => `candidate-${k + 1}`));
    assert.deepEqual(candidates.map((r) => r.summary), config.candidates.map((c) => path.basename(c)));
    assert.ok(candidates.every((r) => r.status === 'ok' && typeof r.score === 'number'));

    const fin = selfdev(dir, 'finalize', 'refs', '--runs', runs, '--json');
    assert.equal(fin.code, 0, fin.err);
    const summary = JSON.parse(fin.out);
    assert.equal(summary.candidates.length, config.candidates.length);
    const refs = summary.sealedTest.references.map((r: { id: string }) => r.id);
    assert.equal(refs[0], 'seed');
    assert.match(refs[1], /^baseline-/);
    assert.deepEqual(refs.slice(2), candidates.map((r) => r.id));
    assert.equal(summary.sealedTest.evaluations, 2 + 2 + refs.length);
    const questions = summary.sealedTest.comparisons.list.map((c: { question: string }) => c.question);
    assert.deepEqual(questions.slice(0, 3), ['best discovered vs best baseline', 'best discovered vs best candidate model', 'best discovered vs seed']);
    assert.equal(summary.sealedTest.comparisons.count, 5);
    const bestCandidate = summary.sealedTest.comparisons.list[1].b;
    const devOf = (id: string) => candidates.find((r) => r.id === id)!.score as number;
    assert.equal(devOf(bestCandidate), Math.max(...candidates.map((r) => r.score as number)), 'the best candidate is chosen on dev');
  });

  it('resumes after the backend is killed mid-iteration, losing and duplicating nothing', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'selfdev-kill-'));
    const runs = path.join(dir, 'runs');
    assert.equal(selfdev(dir, 'new', smallConfig(dir, { iterations: 1, randomControl: false }), '--runs', runs, '--id', 'k').code, 0);
    const results = path.join(runs, 'k', 'iterations', '01', 'results.jsonl');
    const child = spawn(process.execPath, [CLI, 'iterate', 'k', '--runs', runs], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    // Wait for some results, then SIGKILL the backend process (the CLI's child).
    for (let i = 0; i < 600 && !(existsSync(results) && readFileSync(results, 'utf8').split('\n').length > 2); i++) await new Promise((r) => setTimeout(r, 100));
    const backend = execFileSync('ps', ['-o', 'pid=,args=', '--ppid', String(child.pid)], { encoding: 'utf8' }).split('\n').find((l) => l.includes('backend.js'));
    assert.ok(backend, `no backend process found; CLI said: ${stderr}`);
    process.kill(Number(backend.trim().split(/\s+/)[0]), 'SIGKILL');
    assert.equal(await exited, 1);
    assert.match(stderr, /backend process stopped: signal SIGKILL/);
    const before = lines(results).length;
    assert.ok(before >= 2 && before < 6, `killed after ${before} results`);

    const resumed = selfdev(dir, 'iterate', 'k', '--runs', runs);
    assert.equal(resumed.code, 0, resumed.err);
    const ids = lines(results).map((r) => r.id);
    assert.deepEqual(ids, ['a0001', 'a0002', 'a0003', 'a0004', 'a0005', 'a0006'].slice(0, ids.length));
    assert.equal(new Set(ids).size, 6);
  });

  it("keeps runs out of the user's checkout when run inside a repository", () => {
    const repo = mkdtempSync(path.join(os.tmpdir(), 'selfdev-user-'));
    git(repo, 'init', '--quiet', '--initial-branch=main');
    git(repo, 'config', 'user.email', 'u@example.com');
    git(repo, 'config', 'user.name', 'U');
    mkdirSync(path.join(repo, 'src'));
    writeFileSync(path.join(repo, 'src', 'a.txt'), '1\n');
    git(repo, 'add', '.');
    git(repo, 'commit', '--quiet', '-m', 'c');
    writeFileSync(path.join(repo, 'src', 'a.txt'), '1\n2\n');
    const snap = () => [git(repo, 'status', '--porcelain', '--untracked-files=all'), git(repo, 'rev-parse', 'HEAD'), git(repo, 'branch', '--show-current'), git(repo, 'diff')];
    const before = snap();
    const config = smallConfig(mkdtempSync(path.join(os.tmpdir(), 'selfdev-cfg-')), { iterations: 1, algorithmsPerIteration: 2, randomControl: false });
    assert.equal(selfdev(repo, 'new', config, '--id', 'u').code, 0);
    const r = selfdev(repo, 'iterate', 'u');
    assert.equal(r.code, 0, r.err);
    assert.deepEqual(snap(), before);
    assert.ok(existsSync(path.join(repo, '.selfdev', 'runs', 'u', 'iterations', '01', 'results.jsonl')));
    assert.match(git(repo, 'log', '--format=%s', 'selfdev/u'), /iteration 1: 0 preference pairs|iteration 1: \d+ preference pairs/);
  });
});
