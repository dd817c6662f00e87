import * as vscode from 'vscode';
import { listRuns } from './core/runIndex';
import { commandMap } from './vscode/commands/commandMap';
import { LoopController } from './vscode/loopController';
import { registerCommands } from './vscode/commands/registerCommands';
import { RunsTreeProvider, type RunsNode } from './vscode/runsTree';
import { runsLocation } from './vscode/settings';

/** What activate() returns: a small surface for other extensions and the integration tests. */
export interface SelfDevApi {
  runsLocation(): string;
  runsTreeChildren(node?: RunsNode): Promise<RunsNode[]>;
  runsTreeItem(node: RunsNode): vscode.TreeItem;
}

export function activate(context: vscode.ExtensionContext): SelfDevApi {
  const log = vscode.window.createOutputChannel('Self-Developing', { log: true });
  const location = () => runsLocation(context);
  const runsTree = new RunsTreeProvider(location);
  const treeView = vscode.window.createTreeView('selfdev.runs', { treeDataProvider: runsTree, showCollapseAll: true });
  const loop = new LoopController(context, () => runsTree.refresh(), log);
  const listRunIds = async () => (await listRuns(location())).map((r) => r.id);

  context.subscriptions.push(
    log,
    runsTree,
    treeView,
    ...registerCommands(commandMap({ context, runsTree, runsLocation: location, log, loop, listRunIds }), log),
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (e.affectsConfiguration('selfdev.runs.location')) runsTree.refresh();
    }),
  );
  log.info(`Self-Developing activated; runs are kept in ${location()}`);

  return {
    runsLocation: location,
    runsTreeChildren: (node) => runsTree.getChildren(node),
    runsTreeItem: (node) => runsTree.getTreeItem(node),
  };
}

export function deactivate(): void {
  // Everything is disposed through context.subscriptions.
}
