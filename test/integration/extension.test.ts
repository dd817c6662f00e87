import * as assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { SelfDevApi } from '../../src/extension';
import { COMMAND_IDS } from '../../src/vscode/commandIds';
import { packageJson } from '../harness/paths';

import { activate } from './support';

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

  it('runs every command without an unhandled error', async () => {
    // Commands that open pickers are given arguments so no UI waits for input.
    const args: Partial<Record<string, unknown[]>> = {
      'selfdev.selectBackend': [{ kind: 'local' }],
      'selfdev.selectPythonInterpreter': [process.env.SELFDEV_PYTHON ?? 'python3'],
      'selfdev.setLlmApiKey': [''],
    };
    // The loop's commands start long work or ask for a file; the 'loop' tests below run them.
    const loopCommands = new Set(['selfdev.startDemo', 'selfdev.newRun', 'selfdev.runNextIteration', 'selfdev.runIterations', 'selfdev.finalize', 'selfdev.revealBranch', 'selfdev.openAlgorithm', 'selfdev.compareAlgorithms', 'selfdev.transferAlgorithm', 'selfdev.exportModel', 'selfdev.exportReport', 'selfdev.exportBundle', 'selfdev.openBundle']);
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
      assert.match(String(items[0].description), /^[A-Z][a-z]{2} \d{1,2}( \d{4})? \d\d:\d\d · 2 iterations$/);
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
      const report = await vscode.commands.executeCommand<{ version: string; numpy: string | null; isolation: { available: boolean; bwrapVersion?: string } }>('selfdev.selectPythonInterpreter', python);
      assert.match(report.version, /^3\.\d+/);
      assert.ok(report.numpy, 'numpy should be found in the test interpreter');
      assert.equal(report.isolation.available, true, 'kernel isolation is set up on the test machine');
      assert.match(report.isolation.bwrapVersion ?? '', /^\d+\.\d+/);
      assert.equal(vscode.workspace.getConfiguration('selfdev').get('python.interpreter'), python);
      await vscode.workspace.getConfiguration('selfdev').update('python.interpreter', undefined, vscode.ConfigurationTarget.Global);
    });

    it("uses the Python extension's active interpreter when the setting is empty, and the setting over it", async () => {
      const peer = process.env.SELFDEV_TEST_PYTHON_EXTENSION_INTERPRETER;
      assert.ok(peer, 'the harness installs the peer of the Python extension and names its interpreter');
      assert.ok(vscode.extensions.getExtension('ms-python.python'), 'the Python extension (its test peer) is installed');
      assert.equal(vscode.workspace.getConfiguration('selfdev').get('python.interpreter'), '');
      assert.equal(await api.pythonInterpreter(), peer);
      await vscode.workspace.getConfiguration('selfdev').update('python.interpreter', '/opt/other/python3', vscode.ConfigurationTarget.Global);
      assert.equal(await api.pythonInterpreter(), '/opt/other/python3');
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
});
