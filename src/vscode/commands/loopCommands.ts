// The commands that drive the loop: start the demo, new run, iterate, stop, finalize, reveal.
import * as vscode from 'vscode';
import * as path from 'node:path';
import { bestSoFar } from '../../app/runs';
import { defaultLlmFactory, readRunConfig, type FactoryConfig } from '../../core/config/runConfig';
import { RunFiles } from '../../core/run/runFiles';
import { pct } from '../../core/format';
import { requireAlgorithmRef } from '../algorithmRef';
import { LLM_KEY_SECRET, type LoopController } from '../loopController';
import { chooseRun, type RunContext } from '../runChoice';
import { settings } from '../settings';

type FactoryChoice = 'config' | 'grammar' | 'llm-seed' | 'llm-endpoint';

/** The factory a choice of New Run stands for (undefined: as the config says). */
function factoryFor(choice: FactoryChoice): 'grammar' | FactoryConfig | undefined {
  switch (choice) {
    case 'config':
      return undefined;
    case 'grammar':
      return 'grammar';
    case 'llm-seed':
      return defaultLlmFactory();
    case 'llm-endpoint': {
      const baseUrl = settings.llmBaseUrl();
      const model = settings.llmModel();
      if (!baseUrl || !model) throw new Error('set selfdev.llm.baseUrl and selfdev.llm.model (the OpenAI-compatible endpoint and its model) first');
      if (!/^https?:\/\//.test(baseUrl)) throw new Error(`selfdev.llm.baseUrl must be an http(s) URL, got ${baseUrl}`);
      return defaultLlmFactory({ baseUrl, model, api: settings.llmApi(), concurrency: settings.llmConcurrency() });
    }
    default:
      throw new Error(`unknown factory choice ${JSON.stringify(choice)} (config, grammar, llm-seed or llm-endpoint)`);
  }
}

/** Asks for the endpoint and model when the settings have none, and saves them as settings
 * (the key is not asked here: it goes to secret storage with Set LLM API Key). */
async function askForEndpoint(): Promise<boolean> {
  if (!settings.llmBaseUrl()) {
    const url = await vscode.window.showInputBox({
      title: 'OpenAI-compatible endpoint',
      prompt: 'Base URL of the API (vLLM, SGLang, llama.cpp server, Ollama, transformers serve)',
      placeHolder: 'http://127.0.0.1:8000/v1',
      ignoreFocusOut: true,
      validateInput: (v) => (/^https?:\/\/[^\s@]+$/.test(v.trim()) ? undefined : 'An http(s) URL without credentials, such as http://127.0.0.1:8000/v1'),
    });
    if (!url) return false;
    await settings.update('llm.baseUrl', url.trim());
  }
  if (!settings.llmModel()) {
    const model = await vscode.window.showInputBox({ title: 'Model', prompt: 'The model id the endpoint serves', ignoreFocusOut: true, validateInput: (v) => (v.trim() ? undefined : 'A model id') });
    if (!model) return false;
    await settings.update('llm.model', model.trim());
  }
  return true;
}

async function pickFactory(file: string): Promise<FactoryChoice | undefined> {
  let current = 'as configured';
  try {
    const f = (await readRunConfig(file)).factory;
    current = f.kind === 'grammar' ? 'the grammar factory' : f.generator.kind === 'engine' ? `LLM: ${f.generator.model === 'seed' ? 'the seed model' : path.basename(f.generator.model)}` : `LLM: ${f.generator.model} at ${f.generator.baseUrl}`;
  } catch {
    /* createRun reports a bad config */
  }
  const endpoint = settings.llmBaseUrl() && settings.llmModel() ? `${settings.llmModel()} at ${settings.llmBaseUrl()}` : 'asks for the endpoint and the model';
  const items: (vscode.QuickPickItem & { choice: FactoryChoice })[] = [
    { label: 'As the config says', description: current, choice: 'config' },
    { label: 'LLM factory: the seed model', description: "the paper's setting, on this installation's engine", choice: 'llm-seed' },
    { label: 'LLM factory: an OpenAI-compatible endpoint', description: endpoint, choice: 'llm-endpoint' },
    { label: 'Grammar factory', description: 'the built-in program grammar: fast, no model needed', choice: 'grammar' },
  ];
  return (await vscode.window.showQuickPick(items, { title: 'Who writes the algorithms?' }))?.choice;
}

export function loopCommands(loop: LoopController, context: vscode.ExtensionContext, runs: RunContext, runsDir: () => string) {
  const iterate = async (arg: unknown, count: number) => {
    const run = await chooseRun(loop, runs, arg);
    if (!run) return undefined;
    const summary = await loop.withLoop(
      run,
      `${run.id}: ${count === 1 ? 'next iteration' : `${count} iterations`}`,
      async (l) => {
        await l.iterate(count);
        return l.summarise();
      },
      { iterations: count },
    );
    if (!summary) return undefined;
    const last = summary.iterations.at(-1);
    const best = bestSoFar(summary);
    void vscode.window
      .showInformationMessage(
        `Self-Developing: ${run.id}: iteration ${last?.iteration ?? '?'} done${best ? `; best so far ${pct(best.score)} (${best.ref})` : ''}.`,
        'Open Results',
      )
      .then((c) => {
        if (c) void vscode.commands.executeCommand('selfdev.openResults', { runId: run.id, iteration: last?.iteration });
      });
    return run.id;
  };
  return {
    'selfdev.startDemo': async () => {
      // A refused start changes nothing: no run, branch or worktree is made while a loop runs.
      loop.ensureIdle();
      const demo = vscode.Uri.joinPath(context.extensionUri, 'resources', 'demo', 'demo.run.json').fsPath;
      const run = await loop.createRun(demo);
      const iterations = (await new RunFiles(run).header()).config.iterations;
      const done = await loop.withLoop(
        run,
        `demo run ${run.id}`,
        async (l) => {
          await l.iterate(iterations);
          return true;
        },
        { iterations },
      );
      if (done) void vscode.window.showInformationMessage(`Self-Developing: demo run ${run.id} finished ${iterations} iterations (branch ${run.branch}).`);
      return run.id;
    },
    'selfdev.newRun': async (arg?: unknown, options?: unknown) => {
      let file = typeof arg === 'string' ? arg : arg instanceof vscode.Uri ? arg.fsPath : undefined;
      // Callers (tests, other extensions) may choose the factory: {factory: 'config' | 'grammar' | 'llm-seed' | 'llm-endpoint'}.
      const given = typeof options === 'object' && options !== null ? (options as { factory?: unknown }).factory : undefined;
      const interactive = file === undefined && given === undefined;
      // A run config open in the editor is the one meant.
      const active = vscode.window.activeTextEditor?.document;
      if (!file && active?.uri.scheme === 'file' && active.fileName.endsWith('.selfdev.json')) {
        if (active.isDirty) await active.save();
        file = active.fileName;
      }
      if (!file) {
        const picked = await vscode.window.showOpenDialog({ title: 'Run configuration', filters: { 'Self-Developing run': ['json'] }, canSelectMany: false });
        file = picked?.[0]?.fsPath;
      }
      if (!file) return undefined;
      const choice = typeof given === 'string' ? (given as FactoryChoice) : interactive ? await pickFactory(file) : 'config';
      if (!choice) return undefined;
      if (choice === 'llm-endpoint' && interactive && !(await askForEndpoint())) return undefined;
      const run = await loop.createRun(file, factoryFor(choice));
      void vscode.window.showInformationMessage(`Self-Developing: created run ${run.id} (branch ${run.branch}).`, 'Run First Iteration').then((choice) => {
        if (choice) void vscode.commands.executeCommand('selfdev.runNextIteration', run.id);
      });
      return run.id;
    },
    'selfdev.setLlmApiKey': async (arg?: unknown) => {
      // Tests pass the key; people type it (hidden). An empty key removes the stored one.
      const key = typeof arg === 'string' ? arg : await vscode.window.showInputBox({ title: 'API key of the LLM endpoint', prompt: 'Kept in VS Code secret storage, given only to the backend process. Leave empty to remove it.', password: true, ignoreFocusOut: true });
      if (key === undefined) return undefined;
      if (key.trim()) await context.secrets.store(LLM_KEY_SECRET, key.trim());
      else await context.secrets.delete(LLM_KEY_SECRET);
      void vscode.window.showInformationMessage(key.trim() ? 'Self-Developing: LLM API key stored in secret storage.' : 'Self-Developing: LLM API key removed.');
      return Boolean(key.trim());
    },
    'selfdev.runNextIteration': (arg?: unknown) => iterate(arg, 1),
    'selfdev.runIterations': async (arg?: unknown, n?: unknown) => {
      let count = typeof n === 'number' ? n : undefined;
      if (count === undefined) {
        const text = await vscode.window.showInputBox({ title: 'How many iterations?', value: '3', validateInput: (v) => (/^[1-9]\d*$/.test(v) ? undefined : 'A whole number from 1') });
        if (!text) return undefined;
        count = Number(text);
      }
      return iterate(arg, count);
    },
    'selfdev.stop': () => {
      const stopped = loop.stop();
      if (!stopped) void vscode.window.showInformationMessage('Self-Developing: no run is in progress.');
      return stopped;
    },
    'selfdev.finalize': async (arg?: unknown, options?: unknown) => {
      const run = await chooseRun(loop, runs, arg);
      if (!run) return undefined;
      // Callers that already asked (tests, other extensions) pass {confirmed: true}.
      const confirmed = typeof options === 'object' && options !== null && (options as { confirmed?: unknown }).confirmed === true;
      if (!confirmed) {
        const choice = await vscode.window.showWarningMessage(
          `Score the finalists of ${run.id} on the sealed test split? This happens once per run.`,
          { modal: true },
          'Evaluate Finalists',
        );
        if (choice !== 'Evaluate Finalists') return undefined;
      }
      const summary = await loop.withLoop(run, `${run.id}: sealed test split`, (l) => l.finalize());
      const top = summary?.sealedTest?.finalists.filter((f) => f.test !== null).sort((a, b) => b.test! - a.test!)[0];
      if (summary?.sealedTest) {
        void vscode.window.showInformationMessage(
          `Self-Developing: ${run.id}: ${summary.sealedTest.evaluations} models scored once on the sealed test split${top ? `; best finalist ${top.id}: ${pct(top.test)}` : ''}.`,
        );
      }
      return summary;
    },
    'selfdev.openAlgorithm': async (arg?: unknown, options?: unknown) => {
      const ref = requireAlgorithmRef(arg, runsDir());
      const beside = typeof options === 'object' && options !== null && (options as { beside?: unknown }).beside === true;
      const editor = await vscode.window.showTextDocument(vscode.Uri.file(ref.file), { preview: true, ...(beside ? { viewColumn: vscode.ViewColumn.Beside, preserveFocus: true } : {}) });
      return editor.document.uri.fsPath;
    },
    'selfdev.revealBranch': async (arg?: unknown) => {
      const run = await chooseRun(loop, runs, arg);
      if (!run) return undefined;
      void vscode.window.showInformationMessage(`Self-Developing: run ${run.id} is branch ${run.branch}, checked out at ${run.dir}.`, 'Copy Branch Name').then((c) => {
        if (c) void vscode.env.clipboard.writeText(run.branch);
      });
      return { branch: run.branch, dir: run.dir };
    },
  };
}
