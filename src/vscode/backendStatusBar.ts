// The backend's status bar item: where jobs run (local, or the remote host), the link's state
// (connected, reconnecting with why, lost) and what the machine offers (execution providers,
// GPUs). A click opens Select Backend….
import * as vscode from 'vscode';
import type { BackendStatus, LoopController } from './loopController';

const ICON: Record<BackendStatus['state'], string> = { idle: '$(vm)', connecting: '$(sync~spin)', connected: '$(remote)', reconnecting: '$(sync~spin)', lost: '$(error)' };

export class BackendStatusBar implements vscode.Disposable {
  private readonly item = vscode.window.createStatusBarItem('selfdev.backend', vscode.StatusBarAlignment.Left, 49);
  private readonly subscription: vscode.Disposable;

  constructor(loop: LoopController) {
    this.item.name = 'Self-Developing Backend';
    this.item.command = { command: 'selfdev.selectBackend', title: 'Select Backend…' };
    this.subscription = loop.onDidChangeBackend((s) => this.render(s));
    this.render(loop.backendStatus);
    this.item.show();
  }

  get text(): string {
    return this.item.text;
  }

  get tooltip(): string {
    return typeof this.item.tooltip === 'string' ? this.item.tooltip : '';
  }

  private render(s: BackendStatus): void {
    this.item.text = `${ICON[s.state]} ${s.label}${s.state === 'idle' || s.state === 'connected' ? '' : ` · ${s.state}`}`;
    const info = s.info;
    const machine = info ? `\n${info.host ?? ''} ${info.platform}, ${info.cpus} CPUs; execution providers: ${info.executionProviders.join(', ')}; GPUs: ${info.gpus?.length ? info.gpus.join('; ') : 'none'}` : '';
    this.item.tooltip = `Self-Developing backend: ${s.label} (${s.state})${s.detail ? `: ${s.detail}` : ''}${machine}\nClick to select the backend.`;
    this.item.backgroundColor = s.state === 'lost' ? new vscode.ThemeColor('statusBarItem.errorBackground') : s.state === 'reconnecting' ? new vscode.ThemeColor('statusBarItem.warningBackground') : undefined;
  }

  dispose(): void {
    this.subscription.dispose();
    this.item.dispose();
  }
}
