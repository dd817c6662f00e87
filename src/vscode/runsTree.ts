import * as vscode from 'vscode';
import { listRuns, type RunSummary } from '../core/runIndex';

export type RunsNode = { kind: 'run'; run: RunSummary } | { kind: 'iteration'; run: RunSummary; iteration: number };

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
    return [];
  }

  getTreeItem(node: RunsNode): vscode.TreeItem {
    if (node.kind === 'iteration') {
      const item = new vscode.TreeItem(`Iteration ${node.iteration}`, vscode.TreeItemCollapsibleState.None);
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

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}
