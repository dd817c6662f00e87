import type { FromWebview } from '../../src/protocol/webviewMessages';

interface VsCodeApi<S> {
  postMessage(msg: FromWebview): void;
  getState(): S | undefined;
  setState(state: S): void;
}

declare function acquireVsCodeApi<S>(): VsCodeApi<S>;

/** The webview's one handle on the host; acquireVsCodeApi may be called only once. */
export interface PanelState {
  scrollY: number;
}

export const vscode = acquireVsCodeApi<PanelState>();
