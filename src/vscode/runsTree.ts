import * as vscode from 'vscode';
import * as path from 'node:path';
import { listAlgorithms, listRuns, type AlgorithmSummary, type RunSummary } from '../core/runIndex';

export type RunsNode =
  | { kind: 'run'; run: RunSummary }
  | { kind: 'iteration'; run: RunSummary; iteration: number }
  | { kind: 'algorithm'; run: RunSummary; iteration: number; algorithm: AlgorithmSummary; best: boolean };

/** The "Runs" sidebar: runs, then their iterations. Empty (so the welcome view shows) without runs. */
export class RunsTreeProvider implements vscode.TreeDataProvider<RunsNode>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<RunsNode | undefined>();
  readonly onDidChangeTreeData = this.changed.event;

  constructor(private readonly location: () => string) {}

  refresh(): void {
    this.changed.fire(undefined);
  }

  async getChildren(node?: RunsNode): Promise<RunsNode[]> {
    if (!node) return (await listRuns(this.location())).map((run) => ({ kind: 'run', run }));
    if (node.kind === 'run') return node.run.iterations.map((iteration) => ({ kind: 'iteration', run: node.run, iteration }));
    if (node.kind === 'iteration') {
      const algorithms = await listAlgorithms(node.run.dir, node.iteration);
      return algorithms.map((algorithm, i) => ({ kind: 'algorithm', run: node.run, iteration: node.iteration, algorithm, best: i === 0 && algorithm.status === 'ok' }));
    }
    return [];
  }

  getTreeItem(node: RunsNode): vscode.TreeItem {
    if (node.kind === 'algorithm') return algorithmItem(node);
    if (node.kind === 'iteration') {
      const item = new vscode.TreeItem(`Iteration ${node.iteration}`, vscode.TreeItemCollapsibleState.Collapsed);
      item.id = `${node.run.id}/iteration/${node.iteration}`;
      item.contextValue = 'iteration';
      item.iconPath = new vscode.ThemeIcon('history');
      return item;
    }
    const { run } = node;
    const item = new vscode.TreeItem(
      run.name,
      run.iterations.length ? vscode.TreeItemCollapsibleState.Collapsed : vscode.TreeItemCollapsibleState.None,
    );
    item.id = `run/${run.id}`;
    item.contextValue = 'run';
    item.description = run.problem ? 'damaged run.json' : plural(run.iterations.length, 'iteration');
    item.tooltip = new vscode.MarkdownString(
      [`**${run.name}**`, `id: \`${run.id}\``, run.createdAt && `created ${run.createdAt}`, run.problem && `⚠ ${run.problem}`]
        .filter(Boolean)
        .join('\n\n'),
    );
    item.iconPath = new vscode.ThemeIcon(run.problem ? 'warning' : 'beaker');
    return item;
  }

  dispose(): void {
    this.changed.dispose();
  }
}

function algorithmItem(node: Extract<RunsNode, { kind: 'algorithm' }>): vscode.TreeItem {
  const a = node.algorithm;
  const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
  const item = new vscode.TreeItem(a.id, vscode.TreeItemCollapsibleState.None);
  item.id = `${node.run.id}/${node.iteration}/${a.id}`;
  item.contextValue = `algorithm-${a.status}`;
  item.description = a.status === 'ok' ? pct(a.score ?? 0) : a.status === 'failed' ? a.errorClass ?? 'failed' : 'not scored yet';
  item.tooltip = new vscode.MarkdownString(
    [
      `**${a.id}** (iteration ${node.iteration})`,
      a.summary,
      a.status === 'ok' && a.interval && `dev ${pct(a.score ?? 0)}, 95% interval [${pct(a.interval[0])}, ${pct(a.interval[1])}]`,
      a.status === 'failed' && `${a.errorClass}: ${a.message ?? ''}`,
    ]
      .filter(Boolean)
      .join('\n\n'),
  );
  item.iconPath = new vscode.ThemeIcon(node.best ? 'star-full' : a.status === 'failed' ? 'error' : a.status === 'pending' ? 'clock' : 'symbol-function');
  const file = vscode.Uri.file(path.join(node.run.dir, a.file));
  item.resourceUri = file;
  item.command = { command: 'selfdev.openAlgorithm', title: 'Open Algorithm', arguments: [node] };
  return item;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}
