import * as vscode from 'vscode';
import type { BackendCapabilities } from '../backend/capabilities';
import { queryBackendCapabilities } from '../backend/localProcess';
import { settings, type BackendKind } from './settings';

export const WEBSOCKET_TOKEN_SECRET = 'selfdev.backend.websocketToken';

export interface BackendChoice {
  kind: BackendKind;
  sshHost?: string;
  websocketUrl?: string;
}

/**
 * Lets the user choose where models are merged and evaluated, and saves it. For the local
 * backend it starts the backend once and reports its capabilities (onnxruntime, providers).
 * Called with a BackendChoice (tests, other commands) it skips the pickers.
 */
export async function selectBackend(context: vscode.ExtensionContext, given?: unknown): Promise<BackendCapabilities | undefined> {
  const choice = isBackendChoice(given) ? given : await pickBackend(context);
  if (!choice) return undefined;
  await settings.update('backend.kind', choice.kind);
  if (choice.kind === 'ssh' && choice.sshHost !== undefined) await settings.update('backend.sshHost', choice.sshHost);
  if (choice.kind === 'websocket' && choice.websocketUrl !== undefined) await settings.update('backend.websocketUrl', choice.websocketUrl);
  if (choice.kind !== 'local') {
    void vscode.window.showInformationMessage(
      `Self-Developing: saved the ${choice.kind} backend. Connecting to remote backends is not available in this version yet (planned after the loop issue #6); runs use the local backend until then.`,
    );
    return undefined;
  }
  const script = vscode.Uri.joinPath(context.extensionUri, 'out', 'backend.js').fsPath;
  const caps = await vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title: 'Starting the local backend…' },
    () => queryBackendCapabilities(script),
  );
  if ('error' in caps.onnxruntime) {
    void vscode.window.showErrorMessage(`Self-Developing: local backend: ${caps.onnxruntime.error}`);
  } else {
    void vscode.window.showInformationMessage(
      `Self-Developing: local backend ready: onnxruntime ${caps.onnxruntime.version} (${caps.onnxruntime.executionProviders.join(', ')}), ${caps.cpus} CPUs, ${caps.memoryGiB} GiB.`,
    );
  }
  return caps;
}

function isBackendChoice(v: unknown): v is BackendChoice {
  return typeof v === 'object' && v !== null && ['local', 'ssh', 'websocket'].includes((v as BackendChoice).kind);
}

async function pickBackend(context: vscode.ExtensionContext): Promise<BackendChoice | undefined> {
  const current = settings.backendKind();
  const options: { backend: BackendKind; label: string; description: string }[] = [
    { backend: 'local', label: '$(vm) Local', description: 'a backend process on this machine (CPU or local GPU)' },
    { backend: 'ssh', label: '$(remote) SSH', description: 'a daemon on a GPU machine, over ssh' },
    { backend: 'websocket', label: '$(plug) WebSocket', description: 'a daemon on a GPU machine, with a bearer token' },
  ];
  const items = options.map((o) => ({ ...o, detail: o.backend === current ? 'current' : undefined }));
  const picked = await vscode.window.showQuickPick(items, { title: 'Backend for merging and evaluation' });
  if (!picked) return undefined;
  if (picked.backend === 'ssh') {
    const sshHost = await vscode.window.showInputBox({
      title: 'SSH destination',
      prompt: 'user@host, or a Host from ~/.ssh/config',
      value: settings.sshHost(),
      validateInput: (v) => (/^[\w.@:-]+$/.test(v.trim()) ? undefined : 'Letters, digits, . _ - @ and : only'),
    });
    return sshHost === undefined ? undefined : { kind: 'ssh', sshHost: sshHost.trim() };
  }
  if (picked.backend === 'websocket') {
    const websocketUrl = await vscode.window.showInputBox({
      title: 'WebSocket address',
      prompt: 'ws://host:port or wss://host:port',
      value: settings.websocketUrl(),
      validateInput: (v) => (/^wss?:\/\/\S+$/.test(v.trim()) ? undefined : 'Starts with ws:// or wss://'),
    });
    if (websocketUrl === undefined) return undefined;
    const token = await vscode.window.showInputBox({ title: 'Bearer token (kept in secret storage)', password: true, ignoreFocusOut: true });
    if (token) await context.secrets.store(WEBSOCKET_TOKEN_SECRET, token);
    return { kind: 'websocket', websocketUrl: websocketUrl.trim() };
  }
  return { kind: 'local' };
}
