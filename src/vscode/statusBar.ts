// The status bar item: the current run, its phase and progress (or that it is paused); a click
// opens the results panel on that run.
import * as vscode from 'vscode';
import { describeLive, PHASE_WORDS } from '../protocol/webviewMessages';
import type { LoopController, LoopState } from './loopController';

export class RunStatusBar implements vscode.Disposable {
  private readonly item = vscode.window.createStatusBarItem('selfdev.status', vscode.StatusBarAlignment.Left, 50);
  private readonly subscription: vscode.Disposable;

  constructor(private readonly loop: LoopController) {
    this.item.name = 'Self-Developing';
    this.subscription = loop.onDidChangeState((s) => this.render(s));
    this.render(loop.state);
    this.item.show();
  }

  /** The text shown now (for tests and the panel). */
  get text(): string {
    return this.item.text;
  }

  private render(state: LoopState | undefined): void {
    const last = this.loop.lastRunId;
    this.item.command = { command: 'selfdev.openResults', title: 'Open Results Panel', arguments: state ? [{ runId: state.runId }] : last ? [{ runId: last }] : [] };
    this.item.backgroundColor = undefined;
    if (!state) {
      this.item.text = `$(beaker) ${last ?? 'Self-Developing'}`;
      this.item.tooltip = last ? `Self-Developing: ${last} is idle. Click to open the results.` : 'Self-Developing: no run yet. Click to open the results panel.';
      return;
    }
    const s = state.status;
    const where = s.iteration ? `iteration ${s.iteration}` : PHASE_WORDS[s.phase] ?? s.phase;
    if (state.paused) {
      this.item.text = `$(debug-pause) ${state.runId}: ${where} · paused`;
      this.item.tooltip = `Self-Developing: ${state.paused.detail}. Continue with "Self-Developing: Continue the Paused Run".`;
      this.item.backgroundColor = new vscode.ThemeColor('statusBarItem.warningBackground');
      return;
    }
    const loss = s.detail && /loss [\d.]+/.exec(s.detail)?.[0];
    const w = s.workers?.open ? s.workers : undefined;
    const workers = w ? ` · ${w.running}/${w.total} workers` : '';
    // The time left goes in the tooltip: the bar's text stays short.
    this.item.text = `$(sync~spin) ${state.runId}: ${describeLive({ ...s, secondsLeft: undefined })}${loss ? ` · ${loss}` : ''}${workers}`;
    this.item.tooltip = `Self-Developing: ${state.title}: ${describeLive(s)}${s.detail ? ` (${s.detail})` : ''}.${w ? `\n${w.summary}\n${w.lines.join('\n')}` : ''}\nClick to open the results.`;
  }

  dispose(): void {
    this.subscription.dispose();
    this.item.dispose();
  }
}
