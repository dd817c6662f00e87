// The loop and its steering commands in a real VS Code, on a small run of the demo models: each
// command with good input, then with bad input (unknown run, malformed config, not an
// algorithm, a run in progress).
import * as assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { SelfDevApi } from '../../src/extension';
import type { RunsNode } from '../../src/vscode/runsTree';
import { activate, git, until, writeSmallConfig } from './support';

const settings = () => vscode.workspace.getConfiguration('selfdev');
type AlgorithmNode = Extract<RunsNode, { kind: 'algorithm' }>;

describe('loop', () => {
  let api: SelfDevApi;
  let runsDir: string;
  let id: string;
  let runDir: string;

  async function algorithms(iteration: number): Promise<AlgorithmNode[]> {
    const [run] = await api.runsTreeChildren();
    const it = (await api.runsTreeChildren(run)).find((n) => n.kind === 'iteration' && n.iteration === iteration);
    assert.ok(it, `iteration ${iteration} is in the tree`);
    return (await api.runsTreeChildren(it)) as AlgorithmNode[];
  }
  const results = (t: number) =>
    readFileSync(path.join(runDir, 'iterations', String(t).padStart(2, '0'), 'results.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { id: string; status: string; score?: number });
  const lastFailure = () => api.lastCommandFailure()?.message ?? '';

  before(async () => {
    api = await activate();
    runsDir = mkdtempSync(path.join(os.tmpdir(), 'selfdev-loop-runs-'));
    await settings().update('runs.location', runsDir, vscode.ConfigurationTarget.Global);
  });
  after(async () => {
    await settings().update('runs.location', undefined, vscode.ConfigurationTarget.Global);
    await settings().update('pause.afterGeneration', undefined, vscode.ConfigurationTarget.Global);
  });

  it('creates a run from a config, runs an iteration, and shows it in the tree', async function () {
    this.timeout(240_000);
    const config = writeSmallConfig(path.join(runsDir, '..', `${path.basename(runsDir)}.selfdev.json`));
    id = await vscode.commands.executeCommand<string>('selfdev.newRun', config);
    assert.match(id, /^it-\d{8}-\d{6}$/);
    runDir = path.join(runsDir, id);
    const first = vscode.commands.executeCommand<string>('selfdev.runNextIteration', id);
    await until('the loop to start', () => api.loopState());
    assert.match(api.statusBarText(), new RegExp(`^\\$\\(sync~spin\\) ${id}: `), 'the status bar shows the running run');
    // One loop at a time: a second one is refused while the first runs.
    assert.equal(await vscode.commands.executeCommand('selfdev.runNextIteration', id), undefined);
    assert.match(lastFailure(), new RegExp(`run ${id} is in progress; stop it first`));
    assert.equal(await first, id);
    assert.equal(api.statusBarText(), `$(beaker) ${id}`);
    const runs = await api.runsTreeChildren();
    assert.equal(runs.length, 1);
    // Told apart by start time, iterations and best score.
    assert.match(String(api.runsTreeItem(runs[0]).description), /^[A-Z][a-z]{2} \d{1,2} \d\d:\d\d · 1 iteration · best \d+\.\d%$/);
    const iterationNode = (await api.runsTreeChildren(runs[0])).find((n) => n.kind === 'iteration')!;
    const tip = (api.runsTreeItem(iterationNode).tooltip as vscode.MarkdownString).value;
    assert.match(tip, /\*\*Iteration 1\*\* of it/);
    assert.match(tip, /4 algorithms: \d scored, \d failed/);
    assert.match(tip, /best a000\d: dev \d+\.\d%, 95% interval/);
    const items = (await algorithms(1)).map((n) => api.runsTreeItem(n));
    assert.equal(items.length, 4);
    const scores = items.filter((i) => /%/.test(String(i.description))).map((i) => parseFloat(String(i.description)));
    assert.deepEqual(scores, [...scores].sort((a, b) => b - a), 'algorithms are sorted by score');
    assert.equal((items[0].iconPath as vscode.ThemeIcon).id, 'star-full', 'the best is marked');
    const opened = await vscode.commands.executeCommand<string>('selfdev.openAlgorithm', ...(items[0].command?.arguments ?? []));
    assert.match(opened, /iterations\/01\/algorithms\/a000[1-4]\.py$/);
    assert.equal(vscode.window.activeTextEditor?.document.uri.fsPath, opened);
    assert.match(vscode.window.activeTextEditor!.document.getText(), /def merge\(task_vectors, name\)/);
    const reveal = await vscode.commands.executeCommand<{ branch: string; dir: string }>('selfdev.revealBranch', id);
    assert.equal(reveal.branch, `selfdev/${id}`);
    assert.equal(reveal.dir, runDir);
    // Without an argument, the run created and run in this window is meant: no question.
    assert.equal((await vscode.commands.executeCommand<{ branch: string }>('selfdev.revealBranch')).branch, `selfdev/${id}`);
    assert.equal(await vscode.commands.executeCommand('selfdev.stop'), false);
  });

  it('vetoes an algorithm from its tree node and restores it, each a commit', async () => {
    const [, second] = await algorithms(1);
    const out = await vscode.commands.executeCommand<{ changed: boolean }>('selfdev.vetoAlgorithm', second);
    assert.equal(out.changed, true);
    const vetoed = (await algorithms(1)).find((n) => n.algorithm.id === second.algorithm.id)!;
    const item = api.runsTreeItem(vetoed);
    assert.match(String(item.description), /vetoed$/);
    assert.match(String(item.contextValue), /-vetoed$/);
    assert.equal((item.iconPath as vscode.ThemeIcon).id, 'circle-slash');
    assert.equal(git(runDir, 'log', '-1', '--format=%s'), `veto 1/${second.algorithm.id} (left out of later refinement)`);
    await vscode.commands.executeCommand('selfdev.unvetoAlgorithm', { runId: id, iteration: 1, id: second.algorithm.id });
    assert.equal(git(runDir, 'log', '-1', '--format=%s'), `undo veto of 1/${second.algorithm.id}`);
    assert.doesNotMatch(String(api.runsTreeItem((await algorithms(1)).find((n) => n.algorithm.id === second.algorithm.id)!).description), /vetoed/);
  });

  it('scores an edit when its file is saved, and commits code and result together', async function () {
    this.timeout(120_000);
    const node = (await algorithms(1)).at(-1)!;
    const file = path.join(runDir, 'iterations', '01', 'algorithms', `${node.algorithm.id}.py`);
    const editor = await vscode.window.showTextDocument(vscode.Uri.file(file));
    const body = 'import numpy as np\n\ndef merge(task_vectors, name):\n    return 0.5 * np.sum(np.stack(task_vectors), axis=0)\n';
    await editor.edit((e) => e.replace(new vscode.Range(0, 0, editor.document.lineCount, 0), body));
    assert.ok(await editor.document.save());
    const message = await until('the edit commit', () => {
      const m = git(runDir, 'log', '-1', '--format=%s');
      return m.startsWith(`edit ${node.algorithm.id}:`) ? m : undefined;
    });
    assert.match(message, /^edit a000\d: (\d\.\d{3}|failed \(\w+\)) -> \d\.\d{3} \(iteration 1\)$/);
    const changed = git(runDir, 'show', '--name-only', '--format=', 'HEAD').split('\n');
    assert.ok(changed.includes(`iterations/01/algorithms/${node.algorithm.id}.py`) && changed.includes('iterations/01/results.jsonl'), changed.join(', '));
    const item = api.runsTreeItem((await algorithms(1)).find((n) => n.algorithm.id === node.algorithm.id)!);
    assert.match(String(item.description), /edited/);
    assert.equal(results(1).filter((r) => r.id === node.algorithm.id).length, 2, 'the earlier result stays in results.jsonl');
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
  });

  it('re-evaluates an algorithm as it is', async function () {
    this.timeout(120_000);
    const [best] = await algorithms(1);
    const record = await vscode.commands.executeCommand<{ id: string; status: string; rescored: { reason: string } }>('selfdev.reevaluateAlgorithm', best);
    assert.equal(record.id, best.algorithm.id);
    assert.equal(record.rescored.reason, 'reevaluate');
    assert.match(git(runDir, 'log', '-1', '--format=%s'), new RegExp(`^re-evaluate ${best.algorithm.id}: `));
  });

  it('compares two algorithms in a diff editor', async () => {
    const [a, b] = await algorithms(1);
    const files = await vscode.commands.executeCommand<string[]>('selfdev.compareAlgorithms', a, [a, b]);
    assert.equal(files.length, 2);
    const tab = vscode.window.tabGroups.activeTabGroup.activeTab;
    assert.ok(tab?.input instanceof vscode.TabInputTextDiff, 'a diff editor is open');
    assert.equal(tab.input.original.fsPath, files[0]);
    assert.equal(tab.input.modified.fsPath, files[1]);
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
  });

  it('transfers an algorithm to another candidate set, recorded in the run', async function () {
    this.timeout(120_000);
    const [best] = await algorithms(1);
    const record = await vscode.commands.executeCommand<{ id: string; status: string }>('selfdev.transferAlgorithm', best, 'other');
    assert.equal(record.id, `1/${best.algorithm.id}`);
    assert.ok(['ok', 'failed'].includes(record.status));
    assert.match(readFileSync(path.join(runDir, 'transfer', 'other', 'test.jsonl'), 'utf8'), new RegExp(`"id":"1/${best.algorithm.id}"`));
    assert.match(readFileSync(path.join(runDir, 'transfer', 'other', 'dev.jsonl'), 'utf8'), /"kind":"baseline"/); // the grid, re-tuned on the set's dev split
    assert.equal(await vscode.commands.executeCommand('selfdev.transferAlgorithm', best, 'nope'), undefined);
    assert.match(lastFailure(), /no transfer set "nope" \(it has: other\)/);
  });

  it('exports an algorithm\'s merged model as a checkpoint with its card', async function () {
    this.timeout(120_000);
    const [best] = await algorithms(1);
    const out = path.join(mkdtempSync(path.join(os.tmpdir(), 'selfdev-export-')), 'model');
    const result = await vscode.commands.executeCommand<{ status: string; folder: string; provenance: { ref: string; runCommit: string } }>('selfdev.exportModel', best, out);
    assert.equal(result.status, 'ok');
    assert.equal(result.folder, out);
    assert.equal(result.provenance.ref, `1/${best.algorithm.id}`);
    assert.equal(result.provenance.runCommit, git(runDir, 'rev-parse', 'HEAD'));
    for (const f of ['config.json', 'model.safetensors', 'README.md', 'selfdev-export.json', 'tokenizer.json']) assert.ok(existsSync(path.join(out, f)), f);
    assert.match(readFileSync(path.join(out, 'README.md'), 'utf8'), new RegExp(`merged by 1/${best.algorithm.id}`));
    // The same folder again: refused, and what is there stays.
    assert.equal(await vscode.commands.executeCommand('selfdev.exportModel', best, out), undefined);
    assert.match(lastFailure(), /already exists and is not empty/);
  });

  it('exports the run\'s report, naming the commit it was made from', async function () {
    this.timeout(60_000);
    const out = path.join(mkdtempSync(path.join(os.tmpdir(), 'selfdev-report-')), 'report');
    const written = await vscode.commands.executeCommand<{ folder: string; files: string[]; commit: string }>('selfdev.exportReport', id, out);
    assert.equal(written.folder, out);
    assert.equal(written.commit, git(runDir, 'rev-parse', 'HEAD'));
    for (const f of ['report.md', 'report.html', 'figures/progress.svg', 'figures/progress.png']) assert.ok(written.files.includes(f), f);
    assert.match(readFileSync(path.join(out, 'report.md'), 'utf8'), new RegExp(`^# Run ${id}: `));
  });

  it('bundles the run with its report, and the bundle opens in a fresh runs folder, where the Runs tree shows it', async function () {
    this.timeout(60_000);
    const out = path.join(mkdtempSync(path.join(os.tmpdir(), 'selfdev-bundle-')), 'bundle');
    const b = await vscode.commands.executeCommand<{ folder: string; bundle: string; commit: string }>('selfdev.exportBundle', id, out);
    assert.equal(b.bundle, path.join(out, `${id}.bundle`));
    assert.equal(b.commit, git(runDir, 'rev-parse', 'HEAD'));
    assert.ok(existsSync(path.join(out, 'report', 'report.html')));
    const fresh = mkdtempSync(path.join(os.tmpdir(), 'selfdev-fresh-runs-'));
    await settings().update('runs.location', fresh, vscode.ConfigurationTarget.Global);
    try {
      await until('the tree to show the fresh folder', async () => (await api.runsTreeChildren()).length === 0);
      assert.equal(await vscode.commands.executeCommand('selfdev.openBundle', out), id);
      const shown = await until('the opened run in the tree', async () => (await api.runsTreeChildren()).find((n) => n.kind === 'run' && n.run.id === id));
      assert.match(String(api.runsTreeItem(shown).description), /1 iteration/);
      assert.equal(git(path.join(fresh, id), 'rev-parse', 'HEAD'), b.commit);
      // Opening it again would replace a run: refused.
      assert.equal(await vscode.commands.executeCommand('selfdev.openBundle', out), undefined);
      assert.match(lastFailure(), /already exists/);
    } finally {
      await settings().update('runs.location', runsDir, vscode.ConfigurationTarget.Global);
    }
  });

  it('pauses after generation; a veto then keeps an algorithm from being scored; Continue resumes', async function () {
    this.timeout(240_000);
    await settings().update('pause.afterGeneration', true, vscode.ConfigurationTarget.Global);
    const running = vscode.commands.executeCommand<string>('selfdev.runNextIteration', id);
    const paused = await until('the pause', () => api.loopState()?.paused, 120_000);
    assert.equal(paused.point, 'afterGeneration');
    assert.equal(paused.iteration, 2);
    assert.match(api.statusBarText(), new RegExp(`^\\$\\(debug-pause\\) ${id}: iteration 2 · paused$`));
    // While it waits: review. Re-evaluating now would score before the loop does; vetoing is what reviewing is for.
    await vscode.commands.executeCommand('selfdev.vetoAlgorithm', { runId: id, iteration: 2, id: 'a0001' });
    assert.equal(await vscode.commands.executeCommand('selfdev.continueRun'), true);
    assert.equal(await running, id);
    assert.deepEqual(results(2).map((r) => r.id).sort(), ['a0002', 'a0003', 'a0004']);
    assert.equal(await vscode.commands.executeCommand('selfdev.continueRun'), false, 'nothing is paused now');
    await settings().update('pause.afterGeneration', undefined, vscode.ConfigurationTarget.Global);
  });

  it('queues a re-evaluation asked for while the same run is scoring, and runs it afterwards', async function () {
    this.timeout(240_000);
    const running = vscode.commands.executeCommand<string>('selfdev.runNextIteration', id);
    await until('scoring to start', () => api.loopState()?.status.phase === 'score');
    const queued = await vscode.commands.executeCommand('selfdev.reevaluateAlgorithm', { runId: id, iteration: 1, id: 'a0002' });
    assert.equal(queued, undefined, 'nothing is scored while the loop scores');
    assert.equal(await running, id);
    await until('the queued re-evaluation', () => git(runDir, 'log', '-1', '--format=%s').startsWith('re-evaluate a0002:'));
  });

  it('opens the results panel on a run', async () => {
    assert.equal(await vscode.commands.executeCommand('selfdev.openResults', { runId: id, iteration: 1 }), true);
    const panels = () => vscode.window.tabGroups.all.flatMap((g) => g.tabs).filter((t) => t.input instanceof vscode.TabInputWebview && t.input.viewType.endsWith('selfdev.results'));
    await until('the panel tab', () => panels().length === 1, 10_000);
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
  });

  it('runs N iterations when given the count', async function () {
    this.timeout(240_000);
    assert.equal(await vscode.commands.executeCommand('selfdev.runIterations', id, 1), id);
    assert.deepEqual((await api.runsTreeChildren()).map((n) => String(api.runsTreeItem(n).description).split(' · ')[1]), ['4 iterations']);
    assert.match(git(runDir, 'tag', '--list'), /iteration-04/);
  });

  it('evaluates the finalists on the sealed test split once, and refuses a second time', async function () {
    this.timeout(120_000);
    const summary = await vscode.commands.executeCommand<{ sealedTest: { evaluations: number; finalists: { id: string; test: number | null }[] } }>('selfdev.finalize', id, { confirmed: true });
    assert.equal(summary.sealedTest.evaluations, 2);
    assert.ok(summary.sealedTest.finalists.every((f) => /^\d\/a\d{4}$/.test(f.id)));
    assert.match(git(runDir, 'log', '-1', '--format=%s'), /^finalize: 2 finalists and 0 references scored once on the sealed test split$/);
    assert.equal(await vscode.commands.executeCommand('selfdev.finalize', id, { confirmed: true }), undefined);
    assert.match(lastFailure(), /already finalized: the test split is scored only once/);
  });

  describe('bad input gets a clear error and changes nothing', () => {
    it('an unknown run', async () => {
      for (const command of ['selfdev.runNextIteration', 'selfdev.finalize', 'selfdev.revealBranch']) {
        assert.equal(await vscode.commands.executeCommand(command, 'no-such-run'), undefined);
        assert.match(lastFailure(), /no run named "no-such-run"/, command);
      }
      assert.equal(await vscode.commands.executeCommand('selfdev.vetoAlgorithm', { runId: 'no-such-run', iteration: 1, id: 'a0001' }), undefined);
      assert.match(lastFailure(), /no run named "no-such-run"/);
    });

    it('a config mistake is underlined while typing (the JSON schema of *.selfdev.json)', async function () {
      this.timeout(60_000);
      const file = path.join(runsDir, '..', `${path.basename(runsDir)}-typing.selfdev.json`);
      writeFileSync(file, JSON.stringify({ name: 'x', iterations: 'two', colour: 1 }, null, 1));
      const doc = await vscode.workspace.openTextDocument(file);
      await vscode.window.showTextDocument(doc);
      const marks = await until('the JSON language service to check the file against the schema', () => {
        const d = vscode.languages.getDiagnostics(doc.uri);
        return d.length >= 2 ? d : undefined;
      }, 45_000);
      const lines = marks.map((d) => d.range.start.line + 1).sort();
      assert.ok(lines.includes(3), `"iterations": "two" (line 3) is underlined: ${marks.map((d) => `${d.range.start.line + 1}: ${d.message}`).join('; ')}`);
      assert.ok(lines.includes(4), '"colour" (line 4), unknown, is underlined');
      await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    });

    it('a malformed config names the file and the field', async () => {
      const runIds = async () => (await api.runsTreeChildren()).map((n) => n.kind === 'run' && n.run.id);
      const before = await runIds();
      const bad = path.join(runsDir, '..', `${path.basename(runsDir)}-bad.selfdev.json`);
      writeFileSync(bad, JSON.stringify({ name: 'bad', seed: 42 }, null, 1));
      assert.equal(await vscode.commands.executeCommand('selfdev.newRun', bad), undefined);
      // Every problem at once, each at its line and column, in the Problems view too.
      assert.match(lastFailure(), /-bad\.selfdev\.json: 3 problems:\n/);
      assert.match(lastFailure(), new RegExp(`${path.basename(bad).replace(/\./g, '\\.')}:3:2: seed: expected a non-empty string`));
      const shown = api.configProblems(bad).map((d) => `${d.range.start.line + 1} ${d.message.split(':')[0]} ${d.source}`);
      assert.deepEqual(shown.sort(), ['1 benchmarks Self-Developing', '1 candidates Self-Developing', '3 seed Self-Developing']);
      writeFileSync(bad, '{ "name": ');
      assert.equal(await vscode.commands.executeCommand('selfdev.newRun', bad), undefined);
      assert.match(lastFailure(), /-bad\.selfdev\.json:1:\d+: not valid JSON: value expected/);
      assert.deepEqual(await runIds(), before, 'no run was created');
      // Fixed and saved in the editor: checked again, and its problems go.
      const good = readFileSync(writeSmallConfig(path.join(runsDir, '..', `${path.basename(runsDir)}-good.selfdev.json`)), 'utf8');
      const doc = await vscode.workspace.openTextDocument(bad);
      const edit = new vscode.WorkspaceEdit();
      edit.replace(doc.uri, new vscode.Range(0, 0, doc.lineCount, 0), good);
      await vscode.workspace.applyEdit(edit);
      await doc.save();
      await until('the fixed config to have no problems', () => api.configProblems(bad).length === 0, 10_000);
      await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    });

    it('something that is not an algorithm of a run', async () => {
      for (const command of ['selfdev.vetoAlgorithm', 'selfdev.reevaluateAlgorithm', 'selfdev.openAlgorithm', 'selfdev.transferAlgorithm', 'selfdev.exportModel']) {
        assert.equal(await vscode.commands.executeCommand(command, { runId: id, iteration: 1, id: '../../etc/passwd' }), undefined);
        assert.match(lastFailure(), /not an algorithm of a run/, command);
        await vscode.commands.executeCommand('workbench.action.closeAllEditors');
        assert.equal(await vscode.commands.executeCommand(command), undefined);
        assert.match(lastFailure(), /choose an algorithm in the Runs view, or open its \.py file, first/, command);
      }
      assert.equal(await vscode.commands.executeCommand('selfdev.vetoAlgorithm', { runId: id, iteration: 1, id: 'a0999' }), undefined);
      assert.match(lastFailure(), /has no algorithm 1\/a0999/);
    });
  });

  it('starts the demo run, and Stop stops it where it is', async function () {
    this.timeout(240_000);
    const demo = vscode.commands.executeCommand<string>('selfdev.startDemo');
    const state = await until('the demo to start', () => api.loopState(), 60_000);
    assert.match(state.runId, /^demo-\d{8}-\d{6}$/);
    await until('the demo to score', () => api.loopState()?.status.phase === 'baselines', 60_000);
    // A second start is refused, and the refusal creates nothing: no run, branch or worktree.
    const runsBefore = (await api.runsTreeChildren()).length;
    const foldersBefore = readdirSync(runsDir).sort();
    assert.equal(await vscode.commands.executeCommand('selfdev.startDemo'), undefined);
    assert.match(lastFailure(), new RegExp(`run ${state.runId} is in progress; stop it first`));
    assert.equal((await api.runsTreeChildren()).length, runsBefore);
    assert.deepEqual(readdirSync(runsDir).sort(), foldersBefore);
    assert.equal(api.loopState()?.runId, state.runId);
    assert.equal(await vscode.commands.executeCommand('selfdev.stop'), true);
    assert.equal(await demo, state.runId);
    assert.equal(api.loopState(), undefined);
    const demoDir = path.join(runsDir, state.runId);
    assert.match(git(demoDir, 'log', '--format=%s'), /^create run demo-/m);
    assert.ok((await api.runsTreeChildren()).some((n) => n.kind === 'run' && n.run.id === state.runId));
  });

  it('acts on the run in view, and asks only when the runs in view disagree', async function () {
    this.timeout(60_000);
    const config = writeSmallConfig(path.join(runsDir, '..', `${path.basename(runsDir)}-other.selfdev.json`));
    const other = await vscode.commands.executeCommand<string>('selfdev.newRun', config);
    assert.deepEqual(await api.runsInView(), [other], 'the run just created');
    assert.equal((await vscode.commands.executeCommand<{ branch: string }>('selfdev.revealBranch')).branch, `selfdev/${other}`);
    // The panel open on the first run as well: two runs in view, so the user is asked, with the
    // runs in view listed first (the panel's, then the recent one).
    await vscode.commands.executeCommand('selfdev.openResults', id);
    await until('the panel to show the run', async () => (await api.runsInView()).includes(id), 30_000);
    assert.deepEqual(await api.runsInView(), [id, other]);
    let settled = false;
    const asked = vscode.commands.executeCommand<{ branch: string }>('selfdev.revealBranch');
    void asked.then(() => (settled = true));
    await until('the question to be answered', async () => {
      await vscode.commands.executeCommand('workbench.action.acceptSelectedQuickOpenItem');
      return settled;
    }, 20_000);
    assert.equal((await asked).branch, `selfdev/${id}`);
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
  });

  it('groups the baselines by method, the best method and its best variant first, scores leading', async function () {
    this.timeout(240_000);
    const config = writeSmallConfig(path.join(runsDir, '..', `${path.basename(runsDir)}-baselines.selfdev.json`), { baselines: true, randomControl: true, algorithmsPerIteration: 2 });
    const bid = await vscode.commands.executeCommand<string>('selfdev.newRun', config);
    assert.equal(await vscode.commands.executeCommand<string>('selfdev.runNextIteration', bid), bid);
    const run = (await api.runsTreeChildren()).find((n) => n.kind === 'run' && n.run.id === bid)!;
    const refs = (await api.runsTreeChildren(run)).find((n) => n.kind === 'references')!;
    const groups = await api.runsTreeChildren(refs);
    assert.deepEqual(groups.slice(0, 4).map((n) => n.kind), ['reference', 'reference', 'reference', 'reference'], 'the seed and the three candidates');
    const families = groups.filter((n): n is Extract<RunsNode, { kind: 'family' }> => n.kind === 'family');
    const methods = families.filter((f) => f.group.kind === 'baseline').map((f) => f.group.name);
    assert.deepEqual([...methods].sort(), ['average', 'dare', 'task_arithmetic', 'ties', 'worked_example']);
    const bests = families.filter((f) => f.group.kind === 'baseline').map((f) => f.group.best?.score ?? -1);
    assert.deepEqual(bests, [...bests].sort((a, b) => b - a), 'methods ordered by their best variant');
    assert.equal(families.at(-1)?.group.kind, 'control', 'the controls last');
    const dare = families.find((f) => f.group.name === 'dare')!;
    assert.match(String(api.runsTreeItem(dare).description), /^best \d+\.\d% · 12 variants$/);
    const variants = (await api.runsTreeChildren(dare)).map((n) => api.runsTreeItem(n));
    assert.equal(variants.length, 12);
    assert.match(String(variants[0].label), /^\d+\.\d% {2}DROP_P=[\d.]+, LAMBDA=[\d.]+, COMBINE=\w+$/, `the score before the grid point: ${String(variants[0].label)}`);
    const scores = variants.map((v) => parseFloat(String(v.label)));
    assert.deepEqual(scores, [...scores].sort((a, b) => b - a), 'best variant first');
    assert.equal(variants[0].description, 'best');
  });
});
