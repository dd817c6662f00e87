// A VS Code window with no folder open: runs live in the extension's global storage, in a git
// repository of their own, and every command still works.
import * as assert from 'node:assert/strict';
import { existsSync, mkdtempSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { activate, git, writeSmallConfig } from './support';

describe('with no folder open', () => {
  it('keeps runs in global storage with a repository of their own, and runs an iteration', async function () {
    this.timeout(240_000);
    assert.equal(vscode.workspace.workspaceFolders, undefined, 'this suite runs in a window without a folder');
    const api = await activate();
    const runs = api.runsLocation();
    assert.match(runs, /globalStorage/);
    const config = writeSmallConfig(path.join(mkdtempSync(path.join(os.tmpdir(), 'selfdev-nows-')), 'nows.selfdev.json'), { name: 'nows' });
    const id = await vscode.commands.executeCommand<string>('selfdev.newRun', config);
    assert.match(id, /^nows-/);
    assert.ok(existsSync(path.join(runs, 'runs.git', 'HEAD')), 'a bare repository holds the run branches');
    assert.equal(await vscode.commands.executeCommand('selfdev.runNextIteration', id), id);
    assert.match(git(path.join(runs, id), 'log', '--format=%s'), /^iteration 1: \d+ preference pairs/m);
    const out = await vscode.commands.executeCommand<{ changed: boolean }>('selfdev.vetoAlgorithm', { runId: id, iteration: 1, id: 'a0001' });
    assert.equal(out.changed, true);
    assert.equal(await vscode.commands.executeCommand('selfdev.openResults', id), true);
    assert.deepEqual((await api.runsTreeChildren()).map((n) => n.kind === 'run' && n.run.id), [id]);
  });
});
