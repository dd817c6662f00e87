// selfdev report on a real finalized run (the demo models, small settings): the numbers in its
// Markdown and HTML, parsed back, are the numbers of summary.json and of the finalize records;
// the methods paragraph says what the config says; the figures are SVG and PNG; the report names
// the commit it was made from and never overwrites a folder.
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { before, describe, it } from 'node:test';
import { repoRoot } from '../harness/paths';
import { git, jsonLines, selfdev, twoBenchmarkConfig } from './support/cli';

const lines = jsonLines;
const pct = (x: number | null | undefined) => (x === null || x === undefined ? '-' : `${(100 * x).toFixed(1)}%`);
const interval = (i: [number, number]) => `[${pct(i[0])}, ${pct(i[1])}]`;

/** The Markdown table whose header row starts with `first`: its rows as cells. */
function mdTable(md: string, first: string): string[][] {
  const all = md.split('\n');
  const start = all.findIndex((l) => l.startsWith(`| ${first} |`));
  assert.ok(start >= 0, `a table starting with "${first}"`);
  const rows: string[][] = [];
  for (let i = start + 2; i < all.length && all[i].startsWith('|'); i++) rows.push(all[i].slice(2, -2).split(' | '));
  return rows;
}

/** The HTML table of that id: its rows as cells (the report writes no markup inside cells). */
function htmlTable(html: string, id: string): string[][] {
  const m = new RegExp(`<table id="table-${id}">(.*?)</table>`, 's').exec(html);
  assert.ok(m, `table ${id}`);
  const body = /<tbody>(.*)<\/tbody>/s.exec(m[1])![1];
  const unescape = (s: string) => s.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&amp;/g, '&');
  return [...body.matchAll(/<tr>(.*?)<\/tr>/gs)].map((r) => [...r[1].matchAll(/<td>(.*?)<\/td>/gs)].map((c) => unescape(c[1])));
}

describe('selfdev report', () => {
  let dir: string;
  let run: string;
  let runs: string;
  let config: string;

  before(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'selfdev-report-'));
    runs = path.join(dir, 'runs');
    config = twoBenchmarkConfig(dir, { baselines: true });
    assert.equal(selfdev(dir, 'new', config, '--runs', runs, '--id', 'rep').code, 0);
    const it = selfdev(dir, 'iterate', 'rep', '--runs', runs, '-n', '2');
    assert.equal(it.code, 0, it.err);
    const fin = selfdev(dir, 'finalize', 'rep', '--runs', runs);
    assert.equal(fin.code, 0, fin.err);
    run = path.join(runs, 'rep');
  });

  it('writes Markdown and HTML whose numbers are those of summary.json and the finalize records', () => {
    const out = path.join(dir, 'report');
    const r = selfdev(dir, 'report', 'rep', '--out', out, '--runs', runs, '--json');
    assert.equal(r.code, 0, r.err);
    const written = JSON.parse(r.out) as { files: string[]; commit: string };
    assert.equal(written.commit, git(run, 'rev-parse', 'HEAD'));
    for (const f of ['report.md', 'report.html', 'report.json', 'figures/distributions.svg', 'figures/distributions.png', 'figures/progress.svg', 'figures/progress.png', 'figures/progress.vl.json']) {
      assert.ok(written.files.includes(f), f);
    }
    const md = readFileSync(path.join(out, 'report.md'), 'utf8');
    const html = readFileSync(path.join(out, 'report.html'), 'utf8');
    const summary = JSON.parse(readFileSync(path.join(run, 'summary.json'), 'utf8'));
    assert.ok(md.includes(`Made from commit ${written.commit} of branch selfdev/rep`));

    // Iterations: the summary's figures, in both documents alike.
    const its = mdTable(md, 'iteration');
    assert.deepEqual(its, htmlTable(html, 'iterations'));
    assert.equal(its.length, summary.iterations.length);
    summary.iterations.forEach((s: { iteration: number; temperature: number; algorithms: number; ok: number; failed: number; meanScore: number; best: { id: string; score: number; interval: [number, number] }; control: { meanScore: number } }, i: number) => {
      const [t, temp, n, ok, failed, mean, best, bestInterval, , controlMean] = its[i];
      assert.deepEqual([Number(t), Number(temp), Number(n), Number(ok), Number(failed)], [s.iteration, Number(s.temperature.toFixed(2)), s.algorithms, s.ok, s.failed]);
      assert.equal(mean, pct(s.meanScore));
      assert.equal(best, `${pct(s.best.score)} (${s.best.id})`);
      assert.equal(bestInterval, interval(s.best.interval));
      assert.equal(controlMean, pct(s.control.meanScore));
    });

    // Sealed test: every finalist's test score and interval is its record's in finalize/results.jsonl.
    const sealed = htmlTable(html, 'sealed');
    assert.deepEqual(sealed, mdTable(md, 'model'));
    const finals = lines(path.join(run, 'finalize', 'results.jsonl'));
    const finalists = sealed.filter((row) => row[1] === 'finalist');
    assert.equal(finalists.length, finals.length);
    for (const rec of finals) {
      const row = finalists.find((x) => x[0] === rec.id)!;
      assert.ok(row, `finalist ${rec.id}`);
      assert.equal(row[3], pct(rec.score as number));
      assert.equal(row[4], interval(rec.interval as [number, number]));
    }
    const references = lines(path.join(run, 'finalize', 'references.jsonl'));
    for (const rec of references) assert.equal(sealed.find((x) => x[0] === rec.id && x[1] === 'reference')?.[3], pct(rec.score as number), `reference ${rec.id}`);
    // The paired comparisons, with how many there are.
    const cmp = summary.sealedTest.comparisons;
    const rows = htmlTable(html, 'comparisons');
    assert.equal(rows.length, cmp.list.length);
    assert.match(html, new RegExp(`Paired comparisons on the sealed test split: ${cmp.count} comparisons`));
    cmp.list.forEach((c: { question: string; overall: { difference: number } }, i: number) => {
      assert.equal(rows[i][0], c.question);
      assert.equal(rows[i][3], `${c.overall.difference >= 0 ? '+' : '−'}${Math.abs(100 * c.overall.difference).toFixed(1)} pp`);
    });
    // References: the seed and each candidate as the summary has them.
    const refs = mdTable(md, 'reference');
    assert.deepEqual(refs[0], ['seed', pct(summary.seed.score), interval(summary.seed.interval)]);
    for (const c of summary.candidates) assert.deepEqual(refs.find((x) => x[0] === c.id), [c.id, pct(c.score), interval(c.interval)]);
    // The lineage: one row per finished iteration.
    assert.equal(htmlTable(html, 'lineage').length, summary.lineage.length);

    // The methods paragraph comes from the config.
    const cfg = JSON.parse(readFileSync(path.join(run, 'run.json'), 'utf8')).config;
    const methods = md.split('## Methods\n\n')[1].split('\n')[0];
    for (const fact of [
      `The seed model seed was merged with the task vectors of ${cfg.candidates.length} candidate models`,
      `sampled ${cfg.algorithmsPerIteration} merging algorithms`,
      `gsm (GSM8k-style answers; dev first 16 items of gsm_dev.jsonl`,
      `The top ${cfg.finalists} distinct algorithms by dev`,
      `Random seed ${cfg.randomSeed}.`,
    ]) {
      assert.ok(methods.includes(fact), `methods: ${fact}`);
    }
    // The best algorithm's code, as in the run.
    const best = summary.iterations.reduce((a: { best: { score: number } }, b: { best: { score: number } }) => (b.best.score > a.best.score ? b : a));
    const code = readFileSync(path.join(run, 'iterations', String(best.iteration).padStart(2, '0'), 'algorithms', `${best.best.id}.py`), 'utf8').trimEnd();
    assert.ok(md.includes(code), 'the best algorithm\'s code');

    // Figures: SVG documents, and PNGs of them.
    assert.match(readFileSync(path.join(out, 'figures', 'progress.svg'), 'utf8'), /^<svg[^>]*xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
    assert.deepEqual([...readFileSync(path.join(out, 'figures', 'distributions.png')).subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    assert.equal((html.match(/<figure /g) ?? []).length, 2);
    assert.doesNotMatch(html, /<script/i);
    assert.match(html, /Content-Security-Policy" content="default-src 'none'/);
  });

  it('bundles the run (branch, tags, report) and opens the bundle in a fresh folder, refusing one it cannot use', () => {
    const out = path.join(dir, 'bundle');
    const made = selfdev(dir, 'export', 'bundle', 'rep', '--out', out, '--runs', runs, '--json');
    assert.equal(made.code, 0, made.err);
    const b = JSON.parse(made.out) as { bundle: string; refs: string[]; commit: string };
    assert.deepEqual(b.refs.sort(), ['refs/heads/selfdev/rep', ...git(run, 'tag', '--list', 'selfdev/rep/*').split('\n').map((t) => `refs/tags/${t}`)].sort());
    assert.ok(b.refs.includes('refs/tags/selfdev/rep/finalized'));
    assert.ok(existsSync(path.join(out, 'report', 'report.md')) && existsSync(path.join(out, 'README.md')));

    const fresh = mkdtempSync(path.join(os.tmpdir(), 'selfdev-fresh-'));
    const freshRuns = path.join(fresh, 'runs');
    const opened = selfdev(fresh, 'import', out, '--runs', freshRuns);
    assert.equal(opened.code, 0, opened.err);
    const copy = path.join(freshRuns, 'rep');
    assert.equal(git(copy, 'rev-parse', 'HEAD'), b.commit);
    assert.equal(git(copy, 'tag', '--list', 'selfdev/rep/*'), git(run, 'tag', '--list', 'selfdev/rep/*'));
    assert.equal(readFileSync(path.join(copy, 'summary.json'), 'utf8'), readFileSync(path.join(run, 'summary.json'), 'utf8'));
    const status = selfdev(fresh, 'status', 'rep', '--runs', freshRuns, '--json');
    assert.equal(status.code, 0, status.err);
    assert.deepEqual(JSON.parse(status.out), JSON.parse(selfdev(dir, 'status', 'rep', '--runs', runs, '--json').out));
    // Never over a run of the same id; never from something that is not a bundle.
    assert.match(selfdev(fresh, 'import', b.bundle, '--runs', freshRuns).err, /a run named "rep" already exists/);
    const junk = path.join(fresh, 'junk.bundle');
    writeFileSync(junk, 'not a bundle');
    assert.match(selfdev(fresh, 'import', junk, '--runs', path.join(fresh, 'other')).err, /is not a usable git bundle/);
  });

  it('writes SVG figures only, and says so, where the PNG renderer cannot load', () => {
    // The report bundle copied where no node_modules can be found: @resvg/resvg-js does not load.
    const alone = mkdtempSync(path.join(os.tmpdir(), 'selfdev-no-resvg-'));
    copyFileSync(path.join(repoRoot, 'out', 'report.js'), path.join(alone, 'report.js'));
    const out = path.join(dir, 'svg-only');
    const probe = `
      const { RunFiles } = require(${JSON.stringify(path.join(repoRoot, 'out', 'src', 'core', 'run', 'runFiles.js'))});
      require(${JSON.stringify(path.join(alone, 'report.js'))})
        .writeReport(RunFiles.readOnly(${JSON.stringify(run)}), { commit: 'c0ffee', dirty: false }, ${JSON.stringify(out)}, 'test')
        .then((r) => console.log(JSON.stringify({ files: r.files, pngProblem: r.pngProblem })));`;
    const r = JSON.parse(execFileSync(process.execPath, ['-e', probe], { encoding: 'utf8' })) as { files: string[]; pngProblem?: string };
    assert.match(r.pngProblem ?? '', /PNG figures need @resvg\/resvg-js, which did not load here/);
    assert.deepEqual(r.files.filter((f) => f.endsWith('.png')), []);
    assert.ok(r.files.includes('figures/progress.svg'));
    assert.match(readFileSync(path.join(out, 'report.md'), 'utf8'), /The figures are SVG only: PNG figures need @resvg\/resvg-js/);
  });

  it('never overwrites a folder, and names what it cannot find', () => {
    const out = path.join(dir, 'taken');
    assert.equal(selfdev(dir, 'report', 'rep', '--out', out, '--runs', runs).code, 0);
    writeFileSync(path.join(out, 'note.txt'), 'mine');
    const again = selfdev(dir, 'report', 'rep', '--out', out, '--runs', runs);
    assert.equal(again.code, 1);
    assert.match(again.err, /already exists and is not empty/);
    assert.equal(readFileSync(path.join(out, 'note.txt'), 'utf8'), 'mine');
    assert.equal(selfdev(dir, 'report', 'rep', '--runs', runs).code, 2, 'no --out: usage');
    assert.match(selfdev(dir, 'report', 'nope', '--out', path.join(dir, 'x'), '--runs', runs).err, /nope/);
    assert.equal(existsSync(path.join(dir, 'x')), false);
  });
});
