import type { FromWebview } from '../../src/protocol/webviewMessages';
import type { ViewOptions } from './tableModel';

interface VsCodeApi<S> {
  postMessage(msg: FromWebview): void;
  getState(): S | undefined;
  setState(state: S): void;
}

declare function acquireVsCodeApi<S>(): VsCodeApi<S>;

export type Tab = 'algorithms' | 'pairs';

/**
 * What survives hide/show: VS Code destroys the webview when it is hidden (no
 * retainContextWhenHidden), so every view choice is saved here on change.
 */
export interface PanelState extends ViewOptions {
  runId?: string;
  iteration?: number;
  selectedId?: string;
  /** Index of the selected preference pair, in the shown iteration. */
  selectedPair?: number;
  tab: Tab;
  tableScrollTop: number;
}

/** The webview's one handle on the host; acquireVsCodeApi may be called only once. */
export const vscode = acquireVsCodeApi<PanelState>();
