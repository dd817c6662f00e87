import * as vscode from 'vscode';
import { listRuns } from './core/runIndex';
import { BackendStatusBar } from './vscode/backendStatusBar';
import { commandMap } from './vscode/commands/commandMap';
import { registerCommands, type CommandFailure } from './vscode/commands/registerCommands';
import { watchAlgorithmEdits } from './vscode/editWatcher';
import { LoopController, type BackendStatus, type LoopState } from './vscode/loopController';
import { resolveInterpreter } from './vscode/pythonInterpreter';
import { ResultsPanel } from './vscode/resultsPanel';
import { describeLive } from './protocol/webviewMessages';
import { ConfigProblems } from './vscode/configProblems';
import { runsInView, type RunContext } from './vscode/runChoice';
import { RunsTreeProvider, type RunsNode } from './vscode/runsTree';
import { runsLocation } from './vscode/settings';
import { RunStatusBar } from './vscode/statusBar';

/** What activate() returns: a small surface for other extensions and the integration tests. */
export interface SelfDevApi {
  runsLocation(): string;
  runsTreeChildren(node?: RunsNode): Promise<RunsNode[]>;
  runsTreeItem(node: RunsNode): vscode.TreeItem;
  statusBarText(): string;
  /** The backend's status bar item: its text and tooltip, and the state behind them. */
  backendStatusBar(): { text: string; tooltip: string; status: BackendStatus };
  onDidChangeBackend: vscode.Event<BackendStatus>;
  loopState(): LoopState | undefined;
  onDidChangeLoopState: vscode.Event<LoopState | undefined>;
  /** The interpreter runs will use now: the setting, else the Python extension's, else python3. */
  pythonInterpreter(): Promise<string>;
  /** The last error a command showed the user (what the error notification said). */
  lastCommandFailure(): CommandFailure | undefined;
  /** The runs a command without an argument would consider meant (runChoice.ts). */
  runsInView(): Promise<string[]>;
  /** The problems shown for a run config file (the Problems view's entries). */
  configProblems(file: string): readonly vscode.Diagnostic[];
}

export function activate(context: vscode.ExtensionContext): SelfDevApi {
  const log = vscode.window.createOutputChannel('Self-Developing', { log: true });
  const location = () => runsLocation(context);
  const loop = new LoopController(context, log);
  const runsTree = new RunsTreeProvider(location, () => loop.busy, () => {
    const s = loop.state;
    return s && (s.paused ? 'paused' : describeLive({ ...s.status, secondsLeft: undefined }));
  });
  const treeView = vscode.window.createTreeView('selfdev.runs', { treeDataProvider: runsTree, showCollapseAll: true, canSelectMany: true });
  const statusBar = new RunStatusBar(loop);
  const backendBar = new BackendStatusBar(loop);
  // What commands without an argument act on (runChoice.ts).
  const runs: RunContext = {
    listRuns: () => listRuns(location()),
    selectedRunIds: () => treeView.selection.map((n) => n.run.id),
    panelRunId: () => ResultsPanel.shownRunId,
    recentRunId: () => loop.lastRunId,
  };
  let lastFailure: CommandFailure | undefined;
  const configProblems = new ConfigProblems();
  const panelDeps = { extensionUri: context.extensionUri, runsLocation: location, log, loop };

  context.subscriptions.push(
    log,
    loop,
    runsTree,
    treeView,
    statusBar,
    backendBar,
    configProblems,
    ...registerCommands(commandMap({ context, runsTree, runsLocation: location, log, loop, runs }), log, (f) => (lastFailure = f), (err) => configProblems.show(err)),
    loop.onDidChangeRun((runId) => {
      runsTree.invalidate(runId);
      runsTree.refreshSoon();
    }),
    loop.onDidChangeState((s) => {
      runsTree.refreshSoon();
      void vscode.commands.executeCommand('setContext', 'selfdev.paused', Boolean(s?.paused));
    }),
    watchAlgorithmEdits(loop, location, log),
    vscode.window.registerWebviewPanelSerializer(ResultsPanel.viewType, {
      deserializeWebviewPanel: async (panel) => ResultsPanel.revive(panel, panelDeps),
    }),
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (e.affectsConfiguration('selfdev.runs.location')) {
        runsTree.refresh();
        ResultsPanel.refreshIfOpen();
      }
    }),
  );
  log.info(`Self-Developing activated; runs are kept in ${location()}`);

  return {
    runsLocation: location,
    runsTreeChildren: (node) => runsTree.getChildren(node),
    runsTreeItem: (node) => runsTree.getTreeItem(node),
    statusBarText: () => statusBar.text,
    backendStatusBar: () => ({ text: backendBar.text, tooltip: backendBar.tooltip, status: loop.backendStatus }),
    onDidChangeBackend: loop.onDidChangeBackend,
    loopState: () => loop.state,
    onDidChangeLoopState: loop.onDidChangeState,
    lastCommandFailure: () => lastFailure,
    runsInView: async () => runsInView(runs, await runs.listRuns()).map((r) => r.id),
    configProblems: (file) => configProblems.problems(file),
    pythonInterpreter: resolveInterpreter,
  };
}

export function deactivate(): void {
  // Everything is disposed through context.subscriptions.
}
