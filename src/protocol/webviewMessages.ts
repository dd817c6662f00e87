// The whole contract between the results panel host and its webview. Both sides import only
// this file; the host checks every incoming message with parseFromWebview before using it.

export interface RunListEntry {
  id: string;
  name: string;
  iterations: number[];
  problem?: string;
}

/** Commands the webview may ask the host to run; anything else is refused. */
export const WEBVIEW_COMMANDS = ['selfdev.startDemo', 'selfdev.newRun'] as const;
export type WebviewCommand = (typeof WEBVIEW_COMMANDS)[number];

export type ToWebview = { t: 'runs'; runs: RunListEntry[] } | { t: 'error'; message: string };

export type FromWebview = { t: 'ready' } | { t: 'refresh' } | { t: 'command'; command: WebviewCommand };

/** Validates a message from the webview; undefined for anything malformed. */
export function parseFromWebview(msg: unknown): FromWebview | undefined {
  if (typeof msg !== 'object' || msg === null) return undefined;
  const m = msg as Record<string, unknown>;
  switch (m.t) {
    case 'ready':
    case 'refresh':
      return { t: m.t };
    case 'command':
      return typeof m.command === 'string' && (WEBVIEW_COMMANDS as readonly string[]).includes(m.command)
        ? { t: 'command', command: m.command as WebviewCommand }
        : undefined;
    default:
      return undefined;
  }
}
