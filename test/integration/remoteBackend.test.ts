// The ssh backend from a real VS Code: Select Backend… deploys the backend to a second sshd on
// loopback and reports the host; an iteration runs through the daemon there, with the backend's
// status bar item saying where and how the link is; run.json says which backend the run started
// on; the Runs tree keeps working from the local run after the daemon is gone.
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { SelfDevApi } from '../../src/extension';
import { askDaemon } from '../../src/backend/daemonControl';
import type { RemoteBackendReport } from '../../src/vscode/backendPicker';
import { computedJobs } from '../harness/daemon';
import { startLoopbackSshd, type LoopbackSshd } from '../harness/sshd';
import { activate, writeSmallConfig } from './support';

const settings = () => vscode.workspace.getConfiguration('selfdev');
const KEYS = ['backend.kind', 'backend.sshHost', 'backend.sshConfigFile', 'backend.remoteNode', 'backend.remotePython', 'backend.remoteDir', 'runs.location'];

describe('remote backend over ssh', () => {
  let api: SelfDevApi;
  let sshd: LoopbackSshd;
  let remoteDir: string;
  let runsDir: string;

  before(async () => {
    api = await activate();
    sshd = await startLoopbackSshd();
    remoteDir = mkdtempSync(path.join(os.tmpdir(), 'sd-vr-'));
    runsDir = mkdtempSync(path.join(os.tmpdir(), 'selfdev-remote-runs-'));
    const python = execFileSync(process.env.SELFDEV_PYTHON ?? 'python3', ['-c', 'import sys; print(sys.executable)'], { encoding: 'utf8' }).trim();
    const g = vscode.ConfigurationTarget.Global;
    await settings().update('runs.location', runsDir, g);
    await settings().update('backend.sshConfigFile', sshd.config, g);
    // The extension host's own Node (code-server's) stands for the host's.
    await settings().update('backend.remoteNode', process.execPath, g);
    await settings().update('backend.remotePython', python, g);
    await settings().update('backend.remoteDir', remoteDir, g);
  });
  after(async () => {
    await askDaemon(remoteDir, 'stop').catch(() => undefined);
    for (const k of KEYS) await settings().update(k, undefined, vscode.ConfigurationTarget.Global);
    sshd?.stop();
  });

  it('deploys to the ssh host, runs an iteration there, and shows the link in the status bar', async function () {
    this.timeout(300_000);
    const report = await vscode.commands.executeCommand<RemoteBackendReport>('selfdev.selectBackend', { kind: 'ssh', sshHost: sshd.host });
    assert.equal(settings().get('backend.kind'), 'ssh');
    assert.equal(report.label, `ssh ${sshd.host}`);
    assert.equal(report.deploy?.installed, true);
    assert.deepEqual(report.deploy?.problems, []);
    assert.equal(report.info.host, os.hostname());
    assert.ok(report.info.executionProviders.includes('cpu'));
    assert.ok(Array.isArray(report.info.gpus));

    const shown: string[] = [];
    const watch = api.onDidChangeBackend(() => shown.push(api.backendStatusBar().text));
    const config = writeSmallConfig(path.join(runsDir, '..', `${path.basename(runsDir)}.selfdev.json`), { factory: { kind: 'grammar' } });
    const id = await vscode.commands.executeCommand<string>('selfdev.newRun', config);
    const header = JSON.parse(readFileSync(path.join(runsDir, id, 'run.json'), 'utf8')) as { backend?: unknown };
    assert.deepEqual(header.backend, { kind: 'ssh', target: sshd.host });
    assert.equal(await vscode.commands.executeCommand<string>('selfdev.runNextIteration', id), id);
    watch.dispose();

    const results = readFileSync(path.join(runsDir, id, 'iterations', '01', 'results.jsonl'), 'utf8').trim().split('\n');
    assert.equal(results.length, 4);
    const log = readFileSync(path.join(remoteDir, 'daemon.log'), 'utf8');
    const computed = [...computedJobs(log).entries()].filter(([j]) => j.startsWith(`${id}/`));
    assert.ok(computed.length >= 1, 'the daemon on the ssh host computed the run\'s jobs');
    for (const [j, n] of computed) assert.equal(n, 1, `${j} computed once`);
    assert.ok(shown.includes(`$(remote) ${sshd.host}`), `the status bar showed the connected host: ${shown.join(' | ')}`);
    assert.match(api.backendStatusBar().text, new RegExp(`^\\$\\(vm\\) ${sshd.host}$`), 'idle after the iteration');
    assert.match(api.backendStatusBar().tooltip, /execution providers: cpu/);

    // The daemon goes away: the run is local, so the tree still shows it.
    await askDaemon(remoteDir, 'stop');
    const run = (await api.runsTreeChildren()).find((n) => n.kind === 'run' && n.run.id === id);
    assert.ok(run, 'the run is in the tree');
    assert.match(String(api.runsTreeItem(run).description), /^[A-Z][a-z]{2} \d{1,2} \d\d:\d\d · 1 iteration · best \d+\.\d%$/);
    assert.equal((await api.runsTreeChildren(run)).filter((n) => n.kind === 'iteration').length, 1);
  });
});
