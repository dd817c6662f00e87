// The commands with which a person steers a run: veto and un-veto, re-evaluate, score an edit
// on save, compare two algorithms, transfer one to another candidate set, continue after a pause.
import * as path from 'node:path';
import * as vscode from 'vscode';
import { algorithmFile } from '../../core/run/layout';
import { pct } from '../../core/format';
import { rescoreAlgorithm, setAlgorithmVeto, setPairVeto, type RescoreOutcome } from '../../core/loop/curation';
import type { ScoredRecord } from '../../core/run/records';
import { algorithmRows, RunReader } from '../../core/runView';
import { parseAlgorithmRef, requireAlgorithmRef, type AlgorithmRef } from '../algorithmRef';
import type { LoopController } from '../loopController';

const outcome = (r: ScoredRecord) => (r.status === 'ok' ? `dev ${pct(r.score)}` : `failed (${r.errorClass})`);

export function curationCommands(loop: LoopController, runsDir: () => string) {
  const veto = async (arg: unknown, vetoed: boolean) => {
    const ref = requireAlgorithmRef(arg, runsDir());
    const changed = await loop.withRun(ref.runId, `${vetoed ? 'veto' : 'undo veto of'} ${ref.iteration}/${ref.id}`, (l) => setAlgorithmVeto(l, ref.iteration, ref.id, vetoed), { needsBackend: false });
    const what = `${ref.runId} ${ref.iteration}/${ref.id}`;
    if (!changed) void vscode.window.showInformationMessage(`Self-Developing: ${what} ${vetoed ? 'is already vetoed' : 'is not vetoed'}.`);
    else if (vetoed) {
      void vscode.window.showInformationMessage(`Self-Developing: vetoed ${what}: it leaves the ranking and the preference pairs of later refinement.`, 'Undo').then((c) => {
        if (c) void vscode.commands.executeCommand('selfdev.unvetoAlgorithm', { runId: ref.runId, iteration: ref.iteration, id: ref.id });
      });
    } else void vscode.window.showInformationMessage(`Self-Developing: ${what} takes part again.`);
    return { ...ref, vetoed, changed: Boolean(changed) };
  };

  return {
    'selfdev.vetoAlgorithm': (arg?: unknown) => veto(arg, true),
    'selfdev.unvetoAlgorithm': (arg?: unknown) => veto(arg, false),
    'selfdev.reevaluateAlgorithm': async (arg?: unknown) => {
      const ref = requireAlgorithmRef(arg, runsDir());
      const result = await rescore(loop, ref, 'reevaluate');
      return result?.record;
    },
    'selfdev.compareAlgorithms': async (arg?: unknown, selected?: unknown) => {
      const picked = (Array.isArray(selected) ? selected : [arg, selected]).map((a) => parseAlgorithmRef(a, runsDir())).filter((r): r is AlgorithmRef => Boolean(r));
      const left = picked[0] ?? requireAlgorithmRef(undefined, runsDir());
      const right = picked[1] ?? (await pickOther(left, runsDir()));
      if (!right) return undefined;
      const title = `${left.iteration}/${left.id} ↔ ${right.iteration}/${right.id} (${left.runId})`;
      await vscode.commands.executeCommand('vscode.diff', vscode.Uri.file(left.file), vscode.Uri.file(right.file), title);
      return [left.file, right.file];
    },
    'selfdev.transferAlgorithm': async (arg?: unknown, set?: unknown) => {
      const ref = requireAlgorithmRef(arg, runsDir());
      const reader = new RunReader(ref.runId, path.join(runsDir(), ref.runId));
      const sets = Object.keys((await reader.config())?.transfer ?? {});
      if (!sets.length) throw new Error(`run ${ref.runId} has no transfer candidate sets: add "transfer": {"name": [model folders]} to its config`);
      const chosen = typeof set === 'string' ? set : await vscode.window.showQuickPick(sets, { title: `Transfer ${ref.iteration}/${ref.id} to which candidate set?` });
      if (!chosen) return undefined;
      const run = await loop.openRun(ref.runId);
      const done = await loop.withLoop(run, `${ref.runId}: transfer ${ref.iteration}/${ref.id} to "${chosen}"`, async (l) => {
        const records = await l.transfer([`${ref.iteration}/${ref.id}`], chosen);
        return { record: records[0], summary: await l.summarise() };
      });
      if (done?.record) {
        const retuned = done.summary.transfer.find((t) => t.set === chosen)?.retuned;
        const original = (await algorithmRows(reader, ref.iteration)).find((r) => r.id === ref.id);
        void vscode.window.showInformationMessage(
          `Self-Developing: ${ref.iteration}/${ref.id} with candidate set "${chosen}": ${outcome(done.record)} on its test split; ` +
            `the baselines re-tuned on its dev split: ${retuned ? `${pct(retuned.test)} (${retuned.id})` : '-'} (with the run's own candidates, dev: ${pct(original?.score)}).`,
        );
      }
      return done?.record;
    },
    'selfdev.continueRun': () => {
      const continued = loop.continue();
      if (!continued) void vscode.window.showInformationMessage('Self-Developing: no run is paused.');
      return continued;
    },
  };
}

/** Scores an algorithm again (after an edit, or as it is) and tells the user what changed. */
export async function rescore(loop: LoopController, ref: AlgorithmRef, reason: 'edit' | 'reevaluate'): Promise<RescoreOutcome | undefined> {
  const label = `${reason === 'edit' ? 'scoring the edit of' : 're-evaluating'} ${ref.iteration}/${ref.id}`;
  const result = await loop.withRun(ref.runId, `${ref.runId}: ${label}`, (l) => rescoreAlgorithm(l, ref.iteration, ref.id, reason), {
    needsBackend: true,
    queueKey: `${reason} ${ref.runId}/${ref.iteration}/${ref.id}`,
  });
  if (!result) return undefined;
  if (!result.scored) return result;
  const before = result.previous ? outcome(result.previous) : 'not scored';
  void vscode.window.showInformationMessage(`Self-Developing: ${ref.iteration}/${ref.id}: ${before} → ${outcome(result.record)}; committed "${result.message}".`);
  return result;
}

/** Vetoes or restores a preference pair of an iteration that is not refined yet. */
export async function vetoPair(loop: LoopController, runId: string, iteration: number, index: number, vetoed: boolean) {
  return loop.withRun(runId, `${vetoed ? 'veto' : 'undo veto of'} a pair`, (l) => setPairVeto(l, iteration, index, vetoed), { needsBackend: false });
}

async function pickOther(left: AlgorithmRef, runsDir: string): Promise<AlgorithmRef | undefined> {
  const reader = new RunReader(left.runId, path.join(runsDir, left.runId));
  const items: (vscode.QuickPickItem & { ref: AlgorithmRef })[] = [];
  for (const t of await reader.iterations()) {
    for (const row of await algorithmRows(reader, t)) {
      if (t === left.iteration && row.id === left.id) continue;
      items.push({
        label: `${t}/${row.id}`,
        description: row.status === 'ok' ? pct(row.score) : row.status === 'failed' ? row.errorClass : 'not scored',
        detail: row.summary,
        ref: { runId: left.runId, iteration: t, id: row.id, file: path.join(reader.dir, algorithmFile(t, row.id)) },
      });
    }
  }
  if (!items.length) throw new Error(`run ${left.runId} has no other algorithm to compare with`);
  return (await vscode.window.showQuickPick(items, { title: `Compare ${left.iteration}/${left.id} with…`, matchOnDetail: true }))?.ref;
}
