// The commands that drive the loop: start the demo, new run, iterate, stop, finalize, reveal.
import * as vscode from 'vscode';
import { bestSoFar } from '../../app/runs';
import { RunFiles } from '../../core/run/runFiles';
import { pct } from '../../core/format';
import type { Run } from '../../core/store/runStore';
import { requireAlgorithmRef } from '../algorithmRef';
import type { LoopController } from '../loopController';

/** A run named by a string id, a Runs tree node, or picked by the user. */
async function resolveRun(loop: LoopController, arg: unknown, listIds: () => Promise<string[]>): Promise<Run | undefined> {
  if (typeof arg === 'string' && arg) return loop.openRun(arg);
  const node = arg as { kind?: string; run?: { id?: string }; runId?: unknown } | undefined;
  if (node?.run?.id) return loop.openRun(node.run.id);
  if (typeof node?.runId === 'string') return loop.openRun(node.runId);
  const ids = await listIds();
  if (!ids.length) throw new Error('there are no runs yet: start the demo run or a new run first');
  const id = await vscode.window.showQuickPick(ids, { title: 'Which run?' });
  return id ? loop.openRun(id) : undefined;
}

export function loopCommands(loop: LoopController, context: vscode.ExtensionContext, listIds: () => Promise<string[]>, runsDir: () => string) {
  const iterate = async (arg: unknown, count: number) => {
    const run = await resolveRun(loop, arg, listIds);
    if (!run) return undefined;
    const summary = await loop.withLoop(run, `${run.id}: ${count === 1 ? 'next iteration' : `${count} iterations`}`, async (l) => {
      await l.iterate(count);
      return l.summarise();
    });
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
      const demo = vscode.Uri.joinPath(context.extensionUri, 'resources', 'demo', 'demo.run.json').fsPath;
      const run = await loop.createRun(demo);
      const iterations = (await new RunFiles(run).header()).config.iterations;
      const done = await loop.withLoop(run, `demo run ${run.id}`, async (l) => {
        await l.iterate(iterations);
        return true;
      });
      if (done) void vscode.window.showInformationMessage(`Self-Developing: demo run ${run.id} finished ${iterations} iterations (branch ${run.branch}).`);
      return run.id;
    },
    'selfdev.newRun': async (arg?: unknown) => {
      let file = typeof arg === 'string' ? arg : arg instanceof vscode.Uri ? arg.fsPath : undefined;
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
      const run = await loop.createRun(file);
      void vscode.window.showInformationMessage(`Self-Developing: created run ${run.id} (branch ${run.branch}).`, 'Run First Iteration').then((choice) => {
        if (choice) void vscode.commands.executeCommand('selfdev.runNextIteration', run.id);
      });
      return run.id;
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
      const run = await resolveRun(loop, arg, listIds);
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
      const run = await resolveRun(loop, arg, listIds);
      if (!run) return undefined;
      void vscode.window.showInformationMessage(`Self-Developing: run ${run.id} is branch ${run.branch}, checked out at ${run.dir}.`, 'Copy Branch Name').then((c) => {
        if (c) void vscode.env.clipboard.writeText(run.branch);
      });
      return { branch: run.branch, dir: run.dir };
    },
  };
}
