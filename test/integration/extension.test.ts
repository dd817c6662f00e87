import * as assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { SelfDevApi } from '../../src/extension';
import { COMMAND_IDS } from '../../src/vscode/commandIds';
import { extensionId, packageJson } from '../harness/paths';

function extensionRoot(): string {
  return vscode.extensions.getExtension(extensionId())!.extensionPath;
}

async function activate(): Promise<SelfDevApi> {
  const ext = vscode.extensions.getExtension<SelfDevApi>(extensionId());
  assert.ok(ext, `extension ${extensionId()} is not installed in this VS Code`);
  return ext.activate();
}

describe('extension', () => {
  let api: SelfDevApi;
  before(async () => {
    api = await activate();
  });

  it('registers exactly the commands package.json contributes', async () => {
    // VS Code itself registers <viewId>.focus, .open, ... for each contributed view.
    const views = Object.values(packageJson().contributes.views as Record<string, { id: string }[]>).flat().map((v) => `${v.id}.`);
    const registered = (await vscode.commands.getCommands(true))
      .filter((c) => c.startsWith('selfdev.') && !views.some((v) => c.startsWith(v)))
      .sort();
    const contributed = (packageJson().contributes.commands as { command: string }[]).map((c) => c.command).sort();
    assert.deepEqual(registered, contributed);
    assert.deepEqual([...COMMAND_IDS].sort(), contributed);
  });

  it('says clearly that a command whose feature has not landed is not available yet', async () => {
    const message = await vscode.commands.executeCommand<string>('selfdev.vetoAlgorithm');
    assert.match(message, /not available in this version yet \(planned in issue #7\)/);
  });

  it('runs every command without an unhandled error', async () => {
    // Commands that open pickers are given arguments so no UI waits for input.
    const args: Partial<Record<string, unknown[]>> = {
      'selfdev.selectBackend': [{ kind: 'local' }],
      'selfdev.selectPythonInterpreter': [process.env.SELFDEV_PYTHON ?? 'python3'],
    };
    // The loop's commands start long work or ask for a file; the 'loop' tests below run them.
    const loopCommands = new Set(['selfdev.startDemo', 'selfdev.newRun', 'selfdev.runNextIteration', 'selfdev.runIterations', 'selfdev.finalize', 'selfdev.revealBranch', 'selfdev.openAlgorithm']);
    for (const id of COMMAND_IDS.filter((c) => !loopCommands.has(c))) {
      await vscode.commands.executeCommand(id, ...(args[id] ?? []));
    }
  });

  describe('runs tree', () => {
    let runsDir: string;
    before(async () => {
      runsDir = mkdtempSync(path.join(os.tmpdir(), 'selfdev-runs-'));
      await vscode.workspace.getConfiguration('selfdev').update('runs.location', runsDir, vscode.ConfigurationTarget.Global);
    });
    after(async () => {
      await vscode.workspace.getConfiguration('selfdev').update('runs.location', undefined, vscode.ConfigurationTarget.Global);
    });

    it('reads the runs folder from the setting', () => {
      assert.equal(api.runsLocation(), runsDir);
    });

    it('is empty without runs, so the welcome view shows', async () => {
      assert.deepEqual(await api.runsTreeChildren(), []);
    });

    it('lists runs with their iterations, and flags a damaged run.json', async () => {
      const good = path.join(runsDir, 'run-a');
      mkdirSync(path.join(good, 'iterations', '01'), { recursive: true });
      mkdirSync(path.join(good, 'iterations', '02'), { recursive: true });
      writeFileSync(path.join(good, 'run.json'), JSON.stringify({ id: 'run-a', name: 'Demo run', createdAt: '2026-11-24T00:00:00Z' }));
      const bad = path.join(runsDir, 'run-b');
      mkdirSync(bad);
      writeFileSync(path.join(bad, 'run.json'), '{ "id": ');
      await vscode.commands.executeCommand('selfdev.refreshRuns');

      const runs = await api.runsTreeChildren();
      const items = runs.map((n) => api.runsTreeItem(n));
      assert.deepEqual(items.map((i) => i.label), ['Demo run', 'run-b']);
      assert.equal(items[0].description, '2 iterations');
      assert.equal(items[0].contextValue, 'run');
      assert.equal(items[1].description, 'damaged run.json');
      assert.match((items[1].tooltip as vscode.MarkdownString).value, /not valid JSON/);

      const iterations = (await api.runsTreeChildren(runs[0])).map((n) => api.runsTreeItem(n).label);
      assert.deepEqual(iterations, ['Iteration 1', 'Iteration 2']);
    });
  });

  describe('backend and interpreter', () => {
    it('starts the local backend, whose onnxruntime native binary loads', async () => {
      const caps = await vscode.commands.executeCommand<{ onnxruntime: { version?: string; executionProviders?: string[]; error?: string } }>(
        'selfdev.selectBackend',
        { kind: 'local' },
      );
      assert.equal(caps.onnxruntime.error, undefined);
      assert.equal(caps.onnxruntime.version, '1.30.0');
      assert.ok(caps.onnxruntime.executionProviders?.includes('cpu'));
      assert.equal(vscode.workspace.getConfiguration('selfdev').get('backend.kind'), 'local');
    });

    it('checks and saves the chosen Python interpreter', async () => {
      const python = process.env.SELFDEV_PYTHON ?? 'python3';
      const report = await vscode.commands.executeCommand<{ version: string; numpy: string | null }>('selfdev.selectPythonInterpreter', python);
      assert.match(report.version, /^3\.\d+/);
      assert.ok(report.numpy, 'numpy should be found in the test interpreter');
      assert.equal(vscode.workspace.getConfiguration('selfdev').get('python.interpreter'), python);
      await vscode.workspace.getConfiguration('selfdev').update('python.interpreter', undefined, vscode.ConfigurationTarget.Global);
    });

    it('reports an interpreter that cannot run instead of saving it', async () => {
      const result = await vscode.commands.executeCommand('selfdev.selectPythonInterpreter', '/nonexistent/python3');
      assert.equal(result, undefined);
      assert.equal(vscode.workspace.getConfiguration('selfdev').get('python.interpreter'), '');
    });
  });

  describe('results panel', () => {
    it('opens one webview panel, and reveals it when asked again', async () => {
      await vscode.commands.executeCommand('selfdev.openResults');
      await vscode.commands.executeCommand('selfdev.openResults');
      const panels = vscode.window.tabGroups.all
        .flatMap((g) => g.tabs)
        .filter((t) => t.input instanceof vscode.TabInputWebview && t.input.viewType.endsWith('selfdev.results'));
      assert.equal(panels.length, 1);
      await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    });
  });

  describe('loop', () => {
    let runsDir: string;
    before(async () => {
      runsDir = mkdtempSync(path.join(os.tmpdir(), 'selfdev-loop-runs-'));
      await vscode.workspace.getConfiguration('selfdev').update('runs.location', runsDir, vscode.ConfigurationTarget.Global);
    });
    after(async () => {
      await vscode.workspace.getConfiguration('selfdev').update('runs.location', undefined, vscode.ConfigurationTarget.Global);
    });

    it('creates a run from a config, runs an iteration, and shows it in the tree', async function () {
      this.timeout(240_000);
      const demo = path.join(extensionRoot(), 'resources', 'demo');
      const config = path.join(runsDir, '..', `${path.basename(runsDir)}.selfdev.json`);
      writeFileSync(
        config,
        JSON.stringify({
          name: 'it',
          seed: path.join(demo, 'models', 'seed'),
          candidates: ['cand-sub', 'cand-mul', 'cand-div'].map((c) => path.join(demo, 'models', c)),
          benchmarks: { gsm: { dev: path.join(demo, 'data', 'gsm_dev.jsonl'), answer: 'gsm8k', devSize: 8 } },
          eval: { maxNewTokens: 40, stop: ['</s>', '\n\n'] },
          algorithmsPerIteration: 3,
          iterations: 1,
          baselines: false,
          randomControl: false,
        }),
      );
      const id = await vscode.commands.executeCommand<string>('selfdev.newRun', config);
      assert.match(id, /^it-\d{8}-\d{6}$/);
      const first = vscode.commands.executeCommand<string>('selfdev.runNextIteration', id);
      await new Promise((r) => setTimeout(r, 200));
      // One loop at a time: a second one is refused while the first runs.
      assert.equal(await vscode.commands.executeCommand('selfdev.runNextIteration', id), undefined);
      assert.equal(await first, id);
      const runs = await api.runsTreeChildren();
      assert.deepEqual(runs.map((n) => api.runsTreeItem(n).description), ['1 iteration']);
      const [iteration] = await api.runsTreeChildren(runs[0]);
      const algorithms = await api.runsTreeChildren(iteration);
      assert.equal(algorithms.length, 3);
      const items = algorithms.map((n) => api.runsTreeItem(n));
      const scores = items.filter((i) => /%$/.test(String(i.description))).map((i) => parseFloat(String(i.description)));
      assert.deepEqual(scores, [...scores].sort((a, b) => b - a), 'algorithms are sorted by score');
      const opened = await vscode.commands.executeCommand<string>('selfdev.openAlgorithm', ...(items[0].command?.arguments ?? []));
      assert.match(opened, /iterations\/01\/algorithms\/a000[1-3]\.py$/);
      assert.equal(vscode.window.activeTextEditor?.document.uri.fsPath, opened);
      assert.match(vscode.window.activeTextEditor!.document.getText(), /def merge\(task_vectors, name\)/);
      const reveal = await vscode.commands.executeCommand<{ branch: string; dir: string }>('selfdev.revealBranch', id);
      assert.equal(reveal.branch, `selfdev/${id}`);
      assert.equal(reveal.dir, path.join(runsDir, id));
      assert.equal(await vscode.commands.executeCommand('selfdev.stop'), false);
    });
  });
});
