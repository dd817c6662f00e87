import { randomBytes } from 'node:crypto';
import * as vscode from 'vscode';
import { listRuns } from '../core/runIndex';
import { parseFromWebview, type ToWebview } from '../protocol/webviewMessages';

/**
 * The results panel host. One panel at a time; its state lives in the webview (setState), so
 * it survives hide and show without retainContextWhenHidden.
 */
export class ResultsPanel implements vscode.Disposable {
  static readonly viewType = 'selfdev.results';
  private static current: ResultsPanel | undefined;
  private readonly disposables: vscode.Disposable[] = [];

  static show(extensionUri: vscode.Uri, runsLocation: () => string, log: vscode.LogOutputChannel): ResultsPanel {
    if (ResultsPanel.current) {
      ResultsPanel.current.panel.reveal();
      return ResultsPanel.current;
    }
    const webviewRoot = vscode.Uri.joinPath(extensionUri, 'out', 'webview');
    const panel = vscode.window.createWebviewPanel(ResultsPanel.viewType, 'Self-Developing Results', vscode.ViewColumn.Active, {
      enableScripts: true,
      localResourceRoots: [webviewRoot],
    });
    ResultsPanel.current = new ResultsPanel(panel, webviewRoot, runsLocation, log);
    return ResultsPanel.current;
  }

  static refreshIfOpen(): void {
    void ResultsPanel.current?.sendRuns();
  }

  private constructor(
    private readonly panel: vscode.WebviewPanel,
    webviewRoot: vscode.Uri,
    private readonly runsLocation: () => string,
    private readonly log: vscode.LogOutputChannel,
  ) {
    panel.iconPath = vscode.Uri.joinPath(webviewRoot, '..', '..', 'media', 'selfdev.svg');
    panel.webview.html = renderHtml(panel.webview, webviewRoot);
    this.disposables.push(
      panel.onDidDispose(() => this.dispose()),
      panel.webview.onDidReceiveMessage((raw: unknown) => this.onMessage(raw)),
    );
  }

  private async onMessage(raw: unknown): Promise<void> {
    const msg = parseFromWebview(raw);
    if (!msg) {
      this.log.warn(`results panel: ignored a malformed message: ${JSON.stringify(raw)?.slice(0, 200)}`);
      return;
    }
    switch (msg.t) {
      case 'ready':
      case 'refresh':
        await this.sendRuns();
        break;
      case 'command':
        await vscode.commands.executeCommand(msg.command);
        break;
    }
  }

  private async sendRuns(): Promise<void> {
    try {
      const runs = await listRuns(this.runsLocation());
      await this.post({ t: 'runs', runs: runs.map(({ id, name, iterations, problem }) => ({ id, name, iterations, problem })) });
    } catch (err) {
      await this.post({ t: 'error', message: (err as Error).message });
    }
  }

  private post(msg: ToWebview): Thenable<boolean> {
    return this.panel.webview.postMessage(msg);
  }

  dispose(): void {
    if (ResultsPanel.current === this) ResultsPanel.current = undefined;
    this.panel.dispose();
    for (const d of this.disposables.splice(0)) d.dispose();
  }
}

function renderHtml(webview: vscode.Webview, root: vscode.Uri): string {
  const nonce = randomBytes(16).toString('base64');
  const script = webview.asWebviewUri(vscode.Uri.joinPath(root, 'main.js'));
  const style = webview.asWebviewUri(vscode.Uri.joinPath(root, 'main.css'));
  const csp = [
    "default-src 'none'",
    `script-src 'nonce-${nonce}'`,
    `style-src ${webview.cspSource} 'nonce-${nonce}'`,
    `font-src ${webview.cspSource}`,
    `img-src ${webview.cspSource} data:`,
  ].join('; ');
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link rel="stylesheet" href="${style}">
<title>Self-Developing Results</title>
</head>
<body>
<main id="app" aria-live="polite"></main>
<script nonce="${nonce}" src="${script}"></script>
</body>
</html>`;
}
