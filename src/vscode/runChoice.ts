// Which run a command acts on: the one it was given, else the one the user is working with (the
// run selected in the Runs view, the run open in the results panel, the run last created or
// started in this window) when those agree, else the only run; the user is asked only when that
// leaves more than one.
import * as vscode from 'vscode';
import { describeRun } from '../core/format';
import type { RunSummary } from '../core/runIndex';
import type { Run } from '../core/store/runStore';
import type { LoopController } from './loopController';

export interface RunContext {
  listRuns(): Promise<RunSummary[]>;
  /** Runs of the nodes selected in the Runs view. */
  selectedRunIds(): string[];
  /** The run the results panel shows, while it is open. */
  panelRunId(): string | undefined;
  /** The run last created or started in this window. */
  recentRunId(): string | undefined;
}

/** The run id an argument names: a string, a Runs tree node, or {runId}. */
export function runIdOf(arg: unknown): string | undefined {
  if (typeof arg === 'string' && arg) return arg;
  const node = arg as { run?: { id?: unknown }; runId?: unknown } | undefined;
  if (typeof node?.run?.id === 'string') return node.run.id;
  return typeof node?.runId === 'string' ? node.runId : undefined;
}

/** The runs in view, without duplicates, that exist: what a command without an argument means. */
export function runsInView(ctx: Omit<RunContext, 'listRuns'>, runs: readonly RunSummary[]): RunSummary[] {
  const ids = [...new Set([...ctx.selectedRunIds(), ctx.panelRunId(), ctx.recentRunId()].filter((x): x is string => Boolean(x)))];
  return ids.map((id) => runs.find((r) => r.id === id)).filter((r): r is RunSummary => Boolean(r));
}

export async function chooseRun(loop: LoopController, ctx: RunContext, arg: unknown, title = 'Which run?'): Promise<Run | undefined> {
  const given = runIdOf(arg);
  if (given) return loop.openRun(given);
  const runs = await ctx.listRuns();
  if (!runs.length) throw new Error('there are no runs yet: start the demo run or a new run first');
  const inView = runsInView(ctx, runs);
  if (inView.length === 1) return loop.openRun(inView[0].id);
  if (!inView.length && runs.length === 1) return loop.openRun(runs[0].id);
  // Ambiguous: the runs in view first, then the rest, newest first (listRuns' order).
  const ordered = [...inView, ...runs.filter((r) => !inView.includes(r))];
  const items = ordered.map((r) => ({ label: r.name, description: describeRun(r), detail: `${r.id}${inView.includes(r) ? ' · in view' : ''}`, id: r.id }));
  // Kept open when focus moves (the results panel redrawing as a run commits must not dismiss it).
  const picked = await vscode.window.showQuickPick(items, { title, ignoreFocusOut: true, matchOnDescription: true, matchOnDetail: true });
  return picked ? loop.openRun(picked.id) : undefined;
}
