import * as path from 'node:path';
import * as vscode from 'vscode';
import { listRuns } from '../core/runIndex';
import { algorithmDetail, iterationData, pairDetail, runOverview, RunReader } from '../core/runView';
import { parseFromWebview, type FromWebview, type ToWebview } from '../protocol/webviewMessages';
import { vetoPair } from './commands/curationCommands';
import type { LoopController } from './loopController';
import { panelHtml } from './panelHtml';

export interface PanelDeps {
  extensionUri: vscode.Uri;
  runsLocation: () => string;
  log: vscode.LogOutputChannel;
  loop: LoopController;
}

export interface PanelFocus {
  runId: string;
  iteration?: number;
}

/**
 * The results panel host. One panel at a time; its state lives in the webview (setState), so
 * it survives hide and show without retainContextWhenHidden. Every message from the webview is
 * validated (parseFromWebview) before use; the webview asks for one iteration at a time.
 */
export class ResultsPanel implements vscode.Disposable {
  static readonly viewType = 'selfdev.results';
  private static current: ResultsPanel | undefined;
  private readonly disposables: vscode.Disposable[] = [];
  private pendingFocus: PanelFocus | undefined;
  private shownRun: string | undefined;

  static show(deps: PanelDeps, focus?: PanelFocus): ResultsPanel {
    if (ResultsPanel.current) {
      ResultsPanel.current.panel.reveal();
      if (focus) void ResultsPanel.current.post({ t: 'focus', ...focus });
      return ResultsPanel.current;
    }
    const webviewRoot = vscode.Uri.joinPath(deps.extensionUri, 'out', 'webview');
    const panel = vscode.window.createWebviewPanel(ResultsPanel.viewType, 'Self-Developing Results', vscode.ViewColumn.Active, {
      enableScripts: true,
      localResourceRoots: [webviewRoot],
    });
    ResultsPanel.current = new ResultsPanel(panel, webviewRoot, deps, focus);
    return ResultsPanel.current;
  }

  /** Restores a panel VS Code kept across a reload (its state comes back from the webview). */
  static revive(panel: vscode.WebviewPanel, deps: PanelDeps): void {
    const webviewRoot = vscode.Uri.joinPath(deps.extensionUri, 'out', 'webview');
    panel.webview.options = { enableScripts: true, localResourceRoots: [webviewRoot] };
    ResultsPanel.current?.dispose();
    ResultsPanel.current = new ResultsPanel(panel, webviewRoot, deps);
  }

  static get isOpen(): boolean {
    return Boolean(ResultsPanel.current);
  }

  /** The run the open panel shows (the last one it asked about), for commands without an argument. */
  static get shownRunId(): string | undefined {
    return ResultsPanel.current?.shownRun;
  }

  static refreshIfOpen(): void {
    void ResultsPanel.current?.sendRuns();
  }

  private constructor(
    private readonly panel: vscode.WebviewPanel,
    webviewRoot: vscode.Uri,
    private readonly deps: PanelDeps,
    focus?: PanelFocus,
  ) {
    this.pendingFocus = focus;
    panel.iconPath = vscode.Uri.joinPath(webviewRoot, '..', '..', 'media', 'selfdev.svg');
    panel.webview.html = renderHtml(panel.webview, webviewRoot);
    this.disposables.push(
      panel.onDidDispose(() => this.dispose()),
      panel.webview.onDidReceiveMessage((raw: unknown) => this.onMessage(raw)),
      deps.loop.onDidChangeRun((runId) => this.changedSoon(runId)),
      deps.loop.onDidChangeState((s) => void this.post({ t: 'live', status: s ? { ...s.status, ...(s.paused ? { phase: `paused: ${s.paused.detail}` } : {}) } : null })),
    );
  }

  private changeTimers = new Map<string, NodeJS.Timeout>();

  /** Tells the webview a run changed, at most every 400 ms per run (results arrive in bursts). */
  private changedSoon(runId: string): void {
    if (this.changeTimers.has(runId)) return;
    this.changeTimers.set(
      runId,
      setTimeout(() => {
        this.changeTimers.delete(runId);
        void this.post({ t: 'changed', runId });
      }, 400),
    );
  }

  private reader(runId: string): RunReader {
    return new RunReader(runId, path.join(this.deps.runsLocation(), runId));
  }

  private async onMessage(raw: unknown): Promise<void> {
    const msg = parseFromWebview(raw);
    if (!msg) {
      this.deps.log.warn(`results panel: ignored a malformed message: ${JSON.stringify(raw)?.slice(0, 200)}`);
      return;
    }
    try {
      await this.handle(msg);
    } catch (err) {
      const message = (err as Error).message;
      if (msg.t === 'vetoPair') {
        // Where the user is looking: a notification, and beside the control in the panel.
        void vscode.window.showErrorMessage(`Self-Developing: ${message}`);
        await this.post({ t: 'error', message, action: 'vetoPair' });
        return;
      }
      const requestId = msg.t === 'requestDetail' || msg.t === 'requestPair' ? msg.requestId : undefined;
      await this.post({ t: 'error', message, requestId });
    }
  }

  private async handle(msg: FromWebview): Promise<void> {
    if (msg.t === 'selectRun' || msg.t === 'selectIteration') this.shownRun = msg.runId;
    switch (msg.t) {
      case 'ready':
      case 'refresh':
        await this.sendRuns();
        if (this.pendingFocus) await this.post({ t: 'focus', ...this.pendingFocus });
        this.pendingFocus = undefined;
        break;
      case 'selectRun': {
        const run = (await listRuns(this.deps.runsLocation())).find((r) => r.id === msg.runId);
        if (!run) throw new Error(`no run named "${msg.runId}" in ${this.deps.runsLocation()}`);
        await this.post({ t: 'overview', overview: await runOverview(this.reader(run.id), run.name, `selfdev/${run.id}`) });
        break;
      }
      case 'selectIteration':
        await this.post({ t: 'iteration', data: await iterationData(this.reader(msg.runId), msg.iteration) });
        break;
      case 'requestDetail':
        await this.post({ t: 'detail', requestId: msg.requestId, detail: await algorithmDetail(this.reader(msg.runId), msg.iteration, msg.id) });
        break;
      case 'requestPair':
        await this.post({ t: 'pair', requestId: msg.requestId, pair: await pairDetail(this.reader(msg.runId), msg.iteration, msg.index) });
        break;
      case 'openAlgorithm':
        await vscode.commands.executeCommand('selfdev.openAlgorithm', { runId: msg.runId, iteration: msg.iteration, id: msg.id }, { beside: true });
        break;
      case 'exportModel':
        await vscode.commands.executeCommand('selfdev.exportModel', { runId: msg.runId, iteration: msg.iteration, id: msg.id });
        break;
      case 'veto':
        await vscode.commands.executeCommand(msg.undo ? 'selfdev.unvetoAlgorithm' : 'selfdev.vetoAlgorithm', { runId: msg.runId, iteration: msg.iteration, id: msg.id });
        break;
      case 'vetoPair':
        await vetoPair(this.deps.loop, msg.runId, msg.iteration, msg.index, !msg.undo);
        break;
      case 'command':
        await vscode.commands.executeCommand(msg.command, ...(msg.runId ? [msg.runId] : []));
        break;
    }
  }

  private async sendRuns(): Promise<void> {
    try {
      const runs = await listRuns(this.deps.runsLocation());
      const busy = this.deps.loop.busy;
      await this.post({ t: 'runs', runs: runs.map(({ id, name, iterations, problem }) => ({ id, name, iterations, problem, running: id === busy })) });
      const s = this.deps.loop.state;
      await this.post({ t: 'live', status: s ? s.status : null });
    } catch (err) {
      await this.post({ t: 'error', message: (err as Error).message });
    }
  }

  private post(msg: ToWebview): Thenable<boolean> {
    return this.panel.webview.postMessage(msg);
  }

  dispose(): void {
    if (ResultsPanel.current === this) ResultsPanel.current = undefined;
    for (const t of this.changeTimers.values()) clearTimeout(t);
    this.panel.dispose();
    for (const d of this.disposables.splice(0)) d.dispose();
  }
}

function renderHtml(webview: vscode.Webview, root: vscode.Uri): string {
  return panelHtml({
    cspSource: webview.cspSource,
    scriptUri: webview.asWebviewUri(vscode.Uri.joinPath(root, 'main.js')).toString(),
    styleUri: webview.asWebviewUri(vscode.Uri.joinPath(root, 'main.css')).toString(),
  });
}
