// Scale-out from a real VS Code: with the setting selfdev.scaleOut.launcher, an iteration's
// scoring goes to workers the backend starts (the processes launcher here: Slurm's own tests are
// in the unit tier), the status bar counts them while they work, and they are released at the
// iteration's end. A malformed setting is refused with the setting's name and nothing runs.
import * as assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { SelfDevApi } from '../../src/extension';
import { activate, writeSmallConfig } from './support';

const settings = () => vscode.workspace.getConfiguration('selfdev');
const g = vscode.ConfigurationTarget.Global;

describe('scale-out', () => {
  let api: SelfDevApi;
  let runsDir: string;

  before(async () => {
    api = await activate();
    runsDir = mkdtempSync(path.join(os.tmpdir(), 'selfdev-scale-runs-'));
    await settings().update('runs.location', runsDir, g);
  });
  after(async () => {
    await settings().update('runs.location', undefined, g);
    await settings().update('scaleOut.launcher', undefined, g);
  });

  it('scores an iteration on the workers the setting names, shows them in the status bar, and releases them', async function () {
    this.timeout(240_000);
    const config = writeSmallConfig(path.join(runsDir, '..', `${path.basename(runsDir)}.selfdev.json`), { factory: { kind: 'grammar' } });
    const id = await vscode.commands.executeCommand<string>('selfdev.newRun', config);

    await settings().update('scaleOut.launcher', { kind: 'processes' }, g);
    assert.equal(await vscode.commands.executeCommand('selfdev.runNextIteration', id), undefined);
    assert.match(api.lastCommandFailure()?.message ?? '', /the setting selfdev\.scaleOut\.launcher: launcher\.workers: expected the number of workers/);

    await settings().update('scaleOut.launcher', { kind: 'processes', workers: 2, leaseSeconds: 10 }, g);
    const shown = new Set<string>();
    const watch = api.onDidChangeLoopState(() => shown.add(api.statusBarText()));
    assert.equal(await vscode.commands.executeCommand<string>('selfdev.runNextIteration', id), id);
    watch.dispose();
    assert.ok([...shown].some((t) => / · [12]\/2 workers$/.test(t)), `the status bar counted the workers: ${[...shown].join(' | ')}`);
    const results = readFileSync(path.join(runsDir, id, 'iterations', '01', 'results.jsonl'), 'utf8').trim().split('\n');
    assert.equal(results.length, 4);
    const logDir = path.join(runsDir, '.workers', 'workers', id);
    const computed = readdirSync(logDir)
      .map((f) => readFileSync(path.join(logDir, f), 'utf8'))
      .join('\n')
      .match(/job \S+ computing/g);
    assert.ok(computed && computed.length >= 1, 'the workers computed the jobs');
    assert.match(api.statusBarText(), /^\$\(beaker\) /, 'idle again, no workers shown');
  });
});
