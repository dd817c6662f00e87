import * as path from 'node:path';
import * as vscode from 'vscode';
import { describeRun, pct } from '../core/format';
import { algorithmFile } from '../core/run/layout';
import { listRuns, type RunSummary } from '../core/runIndex';
import { algorithmRows, referenceGroups, referenceRows, RunReader, variantLabel, type ReferenceGroup, type ReferenceRow } from '../core/runView';
import type { AlgorithmRow } from '../protocol/webviewMessages';

export type RunsNode =
  | { kind: 'run'; run: RunSummary; running: boolean; live?: string }
  | { kind: 'iteration'; run: RunSummary; iteration: number; best?: AlgorithmRow; count: number; facts: IterationFacts }
  | { kind: 'algorithm'; run: RunSummary; iteration: number; algorithm: AlgorithmRow }
  | { kind: 'references'; run: RunSummary }
  | { kind: 'family'; run: RunSummary; group: ReferenceGroup; best: boolean }
  | { kind: 'reference'; run: RunSummary; reference: ReferenceRow; best: boolean; inFamily?: boolean };


/** What an iteration node's tooltip says about its algorithms. */
export interface IterationFacts {
  ok: number;
  failed: number;
  pending: number;
  vetoed: number;
  edited: number;
  temperature?: number;
  factoryVersion?: number;
}

/**
 * The "Runs" sidebar: runs, then iterations, then algorithms best first, plus the baselines and
 * controls each run scores. Empty (so the welcome view shows) without runs.
 */
export class RunsTreeProvider implements vscode.TreeDataProvider<RunsNode>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<RunsNode | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  private timer: NodeJS.Timeout | undefined;
  /**
   * An iteration's rows, read once per refresh: the run node needs each iteration's best and the
   * expanded iteration its rows, and while a loop scores the tree refreshes every 300 ms. A
   * run's entries are dropped as soon as it changes (`invalidate`), and kept for a second at most
   * otherwise, so changes made outside VS Code (the CLI) show on the next expand.
   */
  private rows = new Map<string, { at: number; rows: Promise<AlgorithmRow[]> }>();

  constructor(
    private readonly location: () => string,
    private readonly runningId: () => string | undefined,
    /** What the running loop is doing now, in the loop's words (describeLive). */
    private readonly liveText: () => string | undefined = () => undefined,
  ) {}

  /** Forgets what was read of a run; its next look reads the files again. */
  invalidate(runId: string): void {
    for (const key of this.rows.keys()) if (key.startsWith(`${runId}\n`)) this.rows.delete(key);
  }

  refresh(): void {
    this.rows.clear();
    this.changed.fire(undefined);
  }

  /** Coalesces the bursts of refreshes a scoring loop causes into one every 300 ms. */
  refreshSoon(): void {
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.refresh();
    }, 300);
  }

  async getChildren(node?: RunsNode): Promise<RunsNode[]> {
    if (!node) return (await listRuns(this.location())).map((run) => ({ kind: 'run', run, running: this.runningId() === run.id, live: this.runningId() === run.id ? this.liveText() : undefined }));
    const reader = new RunReader(node.run.id, node.run.dir);
    if (node.kind === 'run') {
      const iterations: RunsNode[] = [];
      for (const iteration of node.run.iterations) {
        const rows = await this.iterationRows(reader, iteration);
        const facts = {
          ok: rows.filter((r) => r.status === 'ok').length,
          failed: rows.filter((r) => r.status === 'failed').length,
          pending: rows.filter((r) => r.status === 'pending').length,
          vetoed: rows.filter((r) => r.vetoed).length,
          edited: rows.filter((r) => r.edited).length,
          temperature: rows.find((r) => r.temperature !== undefined)?.temperature,
          factoryVersion: rows.find((r) => r.factoryVersion !== undefined)?.factoryVersion,
        };
        iterations.push({ kind: 'iteration', run: node.run, iteration, best: rows.find((r) => r.best), count: rows.length, facts });
      }
      const refs = await referenceRows(reader);
      return refs.length ? [{ kind: 'references', run: node.run }, ...iterations] : iterations;
    }
    if (node.kind === 'iteration') {
      return (await this.iterationRows(reader, node.iteration)).map((algorithm) => ({ kind: 'algorithm', run: node.run, iteration: node.iteration, algorithm }));
    }
    if (node.kind === 'references') {
      // The seed and candidates one by one; each baseline method and the controls as a group.
      const groups = referenceGroups(await referenceRows(reader));
      const bestBaseline = groups.find((g) => g.kind === 'baseline' && g.best);
      return groups.map((group): RunsNode =>
        group.kind === 'seed' || group.kind === 'candidate'
          ? { kind: 'reference', run: node.run, reference: group.rows[0], best: false }
          : { kind: 'family', run: node.run, group, best: group === bestBaseline },
      );
    }
    if (node.kind === 'family') {
      return node.group.rows.map((reference) => ({ kind: 'reference', run: node.run, reference, best: reference === node.group.best, inFamily: true }));
    }
    return [];
  }

  private iterationRows(reader: RunReader, t: number): Promise<AlgorithmRow[]> {
    const key = `${reader.runId}\n${t}`;
    const kept = this.rows.get(key);
    if (kept && Date.now() - kept.at < 1000) return kept.rows;
    const rows = algorithmRows(reader, t);
    this.rows.set(key, { at: Date.now(), rows });
    // A failed read is not kept: the next look reads again.
    rows.catch(() => this.rows.delete(key));
    return rows;
  }

  getTreeItem(node: RunsNode): vscode.TreeItem {
    switch (node.kind) {
      case 'algorithm':
        return algorithmItem(node);
      case 'reference':
        return referenceItem(node);
      case 'family':
        return familyItem(node);
      case 'references': {
        const item = new vscode.TreeItem('Baselines and controls', vscode.TreeItemCollapsibleState.Collapsed);
        item.id = `${node.run.id}/references`;
        item.contextValue = 'references';
        item.iconPath = new vscode.ThemeIcon('library');
        item.tooltip = 'The seed model, the grid-tuned human baselines and the random-program control, scored in this run on the same dev split';
        return item;
      }
      case 'iteration': {
        const item = new vscode.TreeItem(`Iteration ${node.iteration}`, vscode.TreeItemCollapsibleState.Collapsed);
        item.id = `${node.run.id}/iteration/${node.iteration}`;
        item.contextValue = 'iteration';
        item.description = node.best?.score !== undefined ? `best ${pct(node.best.score)} · ${node.count} algorithms` : `${node.count} algorithms`;
        const f = node.facts;
        item.tooltip = new vscode.MarkdownString(
          [
            `**Iteration ${node.iteration}** of ${node.run.name}`,
            node.best?.score !== undefined && `best ${node.best.id}: dev ${pct(node.best.score)}${node.best.interval ? `, 95% interval [${pct(node.best.interval[0])}, ${pct(node.best.interval[1])}]` : ''}`,
            `${node.count} algorithms: ${f.ok} scored, ${f.failed} failed${f.pending ? `, ${f.pending} not scored yet` : ''}${f.vetoed ? `, ${f.vetoed} vetoed` : ''}${f.edited ? `, ${f.edited} edited` : ''}`,
            f.temperature !== undefined && `written at temperature ${f.temperature.toFixed(2)}${f.factoryVersion !== undefined ? ` by factory v${f.factoryVersion}` : ''}`,
          ]
            .filter(Boolean)
            .join('\n\n'),
        );
        item.iconPath = new vscode.ThemeIcon('history');
        return item;
      }
      case 'run':
        return runItem(node);
    }
  }

  dispose(): void {
    if (this.timer) clearTimeout(this.timer);
    this.changed.dispose();
  }
}

function runItem(node: Extract<RunsNode, { kind: 'run' }>): vscode.TreeItem {
  const { run } = node;
  const item = new vscode.TreeItem(run.name, run.iterations.length ? vscode.TreeItemCollapsibleState.Collapsed : vscode.TreeItemCollapsibleState.None);
  item.id = `run/${run.id}`;
  item.contextValue = 'run';
  const n = run.iterations.length;
  item.description = `${describeRun(run)}${node.running ? ` · ${node.live ?? 'running'}` : ''}`;
  item.tooltip = new vscode.MarkdownString(
    [
      `**${run.name}**`,
      `id: \`${run.id}\``,
      `branch: \`selfdev/${run.id}\``,
      run.createdAt && `started ${run.createdAt}`,
      `${n} iteration${n === 1 ? '' : 's'}`,
      run.best && `best so far ${pct(run.best.score)} (${run.best.ref})`,
      run.problem && `⚠ ${run.problem}`,
    ]
      .filter(Boolean)
      .join('\n\n'),
  );
  item.iconPath = new vscode.ThemeIcon(run.problem ? 'warning' : node.running ? 'sync~spin' : 'beaker');
  return item;
}

function algorithmItem(node: Extract<RunsNode, { kind: 'algorithm' }>): vscode.TreeItem {
  const a = node.algorithm;
  const item = new vscode.TreeItem(a.id, vscode.TreeItemCollapsibleState.None);
  item.id = `${node.run.id}/${node.iteration}/${a.id}`;
  // Menus match on this: algorithm-<status>[-edited][-vetoed].
  item.contextValue = `algorithm-${a.status}${a.edited ? '-edited' : ''}${a.vetoed ? '-vetoed' : ''}`;
  const state = a.status === 'ok' ? pct(a.score ?? 0) : a.status === 'failed' ? (a.errorClass ?? 'failed') : 'not scored yet';
  item.description = [state, a.edited && 'edited', a.vetoed && 'vetoed'].filter(Boolean).join(' · ');
  item.tooltip = new vscode.MarkdownString(
    [
      `**${a.id}** (iteration ${node.iteration})${a.best ? ' — best of its iteration' : ''}`,
      a.summary && (a.edited ? `${a.summary} _(as generated; the code was edited since)_` : a.summary),
      a.status === 'ok' && a.interval && `dev ${pct(a.score ?? 0)}, 95% interval [${pct(a.interval[0])}, ${pct(a.interval[1])}]`,
      a.status === 'failed' && `**${a.errorClass ?? 'failed'}**: ${a.message ?? ''}`,
      a.reusedFrom && `same code as ${a.reusedFrom}`,
      a.isolation === 'kernel' && 'ran in the kernel sandbox (namespaces, uid 65534, seccomp)',
      a.isolation === 'unisolated' && '⚠ ran **unisolated** (Python-level guards only; selfdev.sandbox.allowUnisolated)',
      a.edited && 'edited by hand, then scored again',
      a.vetoed && 'vetoed: left out of ranking and of later preference pairs',
    ]
      .filter(Boolean)
      .join('\n\n'),
  );
  const icon = a.vetoed ? 'circle-slash' : a.best ? 'star-full' : a.status === 'failed' ? 'error' : a.status === 'pending' ? 'clock' : a.edited ? 'edit' : 'symbol-function';
  const color = a.vetoed ? 'disabledForeground' : a.best ? 'charts.yellow' : a.status === 'failed' ? 'errorForeground' : undefined;
  item.iconPath = new vscode.ThemeIcon(icon, color ? new vscode.ThemeColor(color) : undefined);
  item.resourceUri = vscode.Uri.file(path.join(node.run.dir, algorithmFile(node.iteration, a.id)));
  item.command = { command: 'selfdev.openAlgorithm', title: 'Open Algorithm', arguments: [node] };
  return item;
}

function familyItem(node: Extract<RunsNode, { kind: 'family' }>): vscode.TreeItem {
  const g = node.group;
  const control = g.kind === 'control';
  const item = new vscode.TreeItem(control ? 'random-program control' : g.name, vscode.TreeItemCollapsibleState.Collapsed);
  item.id = `${node.run.id}/references/${g.kind}/${g.name}`;
  item.contextValue = `reference-family-${g.kind}`;
  const n = g.rows.length;
  item.description = [g.best ? `best ${pct(g.best.score ?? 0)}` : 'none scored', `${n} ${control ? 'program' : 'variant'}${n === 1 ? '' : 's'}`].join(' · ');
  item.tooltip = new vscode.MarkdownString(
    control
      ? 'Programs drawn at random from the same grammar: what a merge scores without the factory learning anything'
      : `Human baseline **${g.name}** over its coefficient grid, each point scored on the dev split${node.best ? '; its best variant is the best baseline' : ''}`,
  );
  item.iconPath = new vscode.ThemeIcon(control ? 'symbol-misc' : node.best ? 'star-half' : 'book');
  return item;
}

function referenceItem(node: Extract<RunsNode, { kind: 'reference' }>): vscode.TreeItem {
  const r = node.reference;
  const score = r.status === 'ok' ? pct(r.score ?? 0) : `failed (${r.errorClass ?? 'error'})`;
  // Within a group the score leads, so a long grid point never hides it.
  const label =
    r.kind === 'seed' ? 'seed model' : r.kind === 'candidate' ? `${r.id} (${r.summary ?? ''})` : `${score}  ${r.kind === 'baseline' ? variantLabel(r) : r.id.replace(/^control-/, '')}`;
  const item = new vscode.TreeItem(label, vscode.TreeItemCollapsibleState.None);
  item.id = `${node.run.id}/references/${r.id}`;
  item.contextValue = `reference-${r.kind}`;
  item.description = node.inFamily ? (node.best ? 'best' : '') : [score, r.kind === 'seed' ? '' : r.kind].filter(Boolean).join(' · ');
  item.tooltip = new vscode.MarkdownString(
    [
      `**${r.id}**`,
      r.kind === 'seed'
        ? 'the seed model, unmerged'
        : r.kind === 'candidate'
          ? `candidate model ${r.summary ?? ''} as it is: a merge should beat it`
          : r.kind === 'baseline'
            ? `human baseline ${r.summary ?? ''}, one point of its coefficient grid`
            : `random-program control: ${r.summary ?? ''}`,
      r.interval && `dev ${pct(r.score ?? 0)}, 95% interval [${pct(r.interval[0])}, ${pct(r.interval[1])}]`,
      r.status === 'failed' && `failed: ${r.errorClass ?? 'error'}`,
    ]
      .filter(Boolean)
      .join('\n\n'),
  );
  item.iconPath = new vscode.ThemeIcon(r.kind === 'seed' ? 'circle-large-outline' : r.kind === 'candidate' ? 'package' : r.kind === 'baseline' ? (node.best ? 'star-half' : 'book') : 'symbol-misc');
  if (r.file) {
    item.resourceUri = vscode.Uri.file(path.join(node.run.dir, r.file));
    item.command = { command: 'vscode.open', title: 'Open', arguments: [item.resourceUri] };
  }
  return item;
}
