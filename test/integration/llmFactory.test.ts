// The LLM factory in a real VS Code: New Run with the factory chosen, an iteration written by the
// demo's writer model, and an endpoint's key kept in secret storage that reaches the endpoint
// (a scripted OpenAI-compatible peer in this process) and nothing else.
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { SelfDevApi } from '../../src/extension';
import { activate, extensionRoot, writeSmallConfig } from './support';

const settings = () => vscode.workspace.getConfiguration('selfdev');

describe('LLM factory', () => {
  let api: SelfDevApi;
  let runsDir: string;
  const demo = () => path.join(extensionRoot(), 'resources', 'demo');
  const writer = () => ({
    kind: 'llm',
    generator: { kind: 'engine', model: path.join(demo(), 'models', 'writer') },
    prompt: path.join(demo(), 'prompts', 'writer.md'),
    workedExample: path.join(demo(), 'prompts', 'worked_example.py'),
    maxTokens: 256,
  });
  const header = (id: string) => JSON.parse(readFileSync(path.join(runsDir, id, 'run.json'), 'utf8')) as { config: { factory: { kind: string } } };

  before(async () => {
    api = await activate();
    runsDir = mkdtempSync(path.join(os.tmpdir(), 'selfdev-llm-runs-'));
    await settings().update('runs.location', runsDir, vscode.ConfigurationTarget.Global);
  });
  after(async () => {
    await settings().update('runs.location', undefined, vscode.ConfigurationTarget.Global);
    await vscode.commands.executeCommand('selfdev.setLlmApiKey', '');
  });

  it('runs an iteration written by the demo writer, refines the writer by DPO with its progress in the status bar, and shows what it wrote in the tree', async function () {
    this.timeout(300_000);
    // The demo's DPO settings; two planned iterations, so the first one's pairs refine at once.
    const refine = (JSON.parse(readFileSync(path.join(demo(), 'demo.run.json'), 'utf8')) as { factory: { refine: object } }).factory.refine;
    const config = writeSmallConfig(path.join(runsDir, '..', `${path.basename(runsDir)}-writer.selfdev.json`), {
      factory: { ...writer(), refine },
      iterations: 2,
      pairs: { chosenTop: 0.5, rejectedBottom: 0.5, failedAsRejected: true },
    });
    const id = await vscode.commands.executeCommand<string>('selfdev.newRun', config, { factory: 'config' });
    assert.equal(header(id).config.factory.kind, 'llm');
    const shown: string[] = [];
    const watch = api.onDidChangeLoopState(() => shown.push(api.statusBarText()));
    try {
      assert.equal(await vscode.commands.executeCommand<string>('selfdev.runNextIteration', id), id);
    } finally {
      watch.dispose();
    }
    const factory = JSON.parse(readFileSync(path.join(runsDir, id, 'iterations', '01', 'factory.json'), 'utf8')) as { version: number; refinement: { status: string; reason?: string } };
    assert.equal(factory.refinement.status, 'refined', factory.refinement.reason);
    assert.equal(factory.version, 1);
    assert.ok(shown.some((t) => /iteration 1 · refining \d+\/\d+ · loss \d/.test(t)), `the status bar showed the DPO steps: ${shown.join(' | ')}`);
    const it1 = path.join(runsDir, id, 'iterations', '01');
    const completions = readFileSync(path.join(it1, 'completions.jsonl'), 'utf8').trim().split('\n');
    assert.equal(completions.length, 4);
    const [run] = (await api.runsTreeChildren()).filter((n) => n.kind === 'run' && n.run.id === id);
    const iteration = (await api.runsTreeChildren(run)).find((n) => n.kind === 'iteration');
    const items = (await api.runsTreeChildren(iteration)).map((n) => api.runsTreeItem(n));
    assert.equal(items.length, 4);
    assert.ok(items.some((i) => /%/.test(String(i.description))), 'at least one algorithm the writer wrote was scored');
  });

  it('creates a run with the grammar factory when New Run is told so, whatever the config says', async () => {
    const config = writeSmallConfig(path.join(runsDir, '..', `${path.basename(runsDir)}-grammar.selfdev.json`), { factory: writer() });
    const id = await vscode.commands.executeCommand<string>('selfdev.newRun', config, { factory: 'grammar' });
    assert.equal(header(id).config.factory.kind, 'grammar');
  });

  describe('an OpenAI-compatible endpoint', () => {
    let server: Server;
    let base = '';
    const auth: (string | undefined)[] = [];
    before(async () => {
      server = createServer((req, res) => {
        auth.push(req.headers.authorization);
        let body = '';
        req.on('data', (d) => (body += d));
        req.on('end', () => {
          const n = Number((JSON.parse(body) as { n: number }).n);
          const code = 'import numpy as np\n\n\ndef merge(task_vectors, name):\n    return 0.5 * np.sum(np.stack(task_vectors), axis=0)\n';
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ model: 'peer', choices: Array.from({ length: n }, (_, i) => ({ index: i, message: { content: `Half of the sum.\n\`\`\`python\n${code}\`\`\`` }, finish_reason: 'stop' })) }));
        });
      });
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
      await settings().update('llm.baseUrl', base, vscode.ConfigurationTarget.Global);
      await settings().update('llm.model', 'peer-model', vscode.ConfigurationTarget.Global);
    });
    after(async () => {
      server.close();
      await settings().update('llm.baseUrl', undefined, vscode.ConfigurationTarget.Global);
      await settings().update('llm.model', undefined, vscode.ConfigurationTarget.Global);
    });

    it('sends the key from secret storage to the endpoint only: not to settings, the run or git', async function () {
      this.timeout(240_000);
      const secret = 'sk-integration-4242';
      assert.equal(await vscode.commands.executeCommand('selfdev.setLlmApiKey', secret), true);
      const config = writeSmallConfig(path.join(runsDir, '..', `${path.basename(runsDir)}-endpoint.selfdev.json`));
      const id = await vscode.commands.executeCommand<string>('selfdev.newRun', config, { factory: 'llm-endpoint' });
      assert.ok(id, api.lastCommandFailure()?.message);
      const f = header(id).config.factory as unknown as { kind: string; generator: { kind: string; baseUrl: string; model: string } };
      assert.deepEqual([f.kind, f.generator.kind, f.generator.baseUrl, f.generator.model], ['llm', 'openai', base, 'peer-model']);
      assert.equal(await vscode.commands.executeCommand<string>('selfdev.runNextIteration', id), id);
      assert.ok(auth.length > 0 && auth.every((a) => a === `Bearer ${secret}`), JSON.stringify(auth));
      const runDir = path.join(runsDir, id);
      const history = execFileSync('git', ['log', '-p', '--all'], { cwd: runDir, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
      assert.ok(!history.includes(secret), 'the key is nowhere in the run\'s history');
      assert.ok(!JSON.stringify(settings()).includes(secret));
      const results = readFileSync(path.join(runDir, 'iterations', '01', 'results.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { status: string; reusedFrom?: string });
      assert.equal(results.length, 4);
      assert.ok(results.every((r) => r.status === 'ok'));
      assert.equal(results.filter((r) => r.reusedFrom).length, 3, 'the same code is scored once');
    });
  });
});
