import * as vscode from 'vscode';
import { openBackend, type OpenedBackend } from '../app/backends';
import type { BackendCapabilities } from '../backend/capabilities';
import type { DeployReport } from '../backend/deploy';
import { SSH_DESTINATION } from '../backend/links/sshLink';
import { queryBackendCapabilities } from '../backend/localProcess';
import type { InitializeResult } from '../protocol/backend';
import { backendTarget, WEBSOCKET_TOKEN_SECRET } from './backendTarget';
import { runsLocation, settings, type BackendKind } from './settings';

export interface BackendChoice {
  kind: BackendKind;
  sshHost?: string;
  websocketUrl?: string;
  /** The WebSocket token, kept in secret storage (given by a caller that has it, else asked for). */
  token?: string;
}

/** What a remote backend reported when it was selected. */
export interface RemoteBackendReport {
  label: string;
  info: InitializeResult;
  deploy?: DeployReport;
}

/**
 * Lets the user choose where models are merged and evaluated, and saves it. The local backend is
 * started once to report its capabilities (onnxruntime, providers); an ssh host gets the backend
 * deployed (once per version) and its Node, Python and GPUs checked; a WebSocket backend is
 * connected to once. Called with a BackendChoice (tests, other commands) it skips the pickers.
 */
export async function selectBackend(context: vscode.ExtensionContext, given?: unknown): Promise<BackendCapabilities | RemoteBackendReport | undefined> {
  const choice = isBackendChoice(given) ? given : await pickBackend(context);
  if (!choice) return undefined;
  await settings.update('backend.kind', choice.kind);
  if (choice.kind === 'ssh' && choice.sshHost !== undefined) await settings.update('backend.sshHost', choice.sshHost);
  if (choice.kind === 'websocket' && choice.websocketUrl !== undefined) await settings.update('backend.websocketUrl', choice.websocketUrl);
  if (choice.kind === 'websocket' && choice.token) await context.secrets.store(WEBSOCKET_TOKEN_SECRET, choice.token);
  if (choice.kind !== 'local') return checkRemote(context);
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

/** Deploys (ssh) and connects once, and says what the remote machine offers. */
async function checkRemote(context: vscode.ExtensionContext): Promise<RemoteBackendReport> {
  const target = await backendTarget(context);
  const version = (context.extension.packageJSON as { version: string }).version;
  const opened: OpenedBackend = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: 'Self-Developing: connecting to the backend' }, (progress) =>
    openBackend({ root: context.extensionUri.fsPath, version }, runsLocation(context), target, { onProgress: (message) => progress.report({ message }) }),
  );
  const info = opened.backend.info;
  await opened.backend.dispose();
  const problems = opened.deploy?.problems ?? [];
  const gpus = info.gpus?.length ? info.gpus.join('; ') : 'no GPU';
  const message = `Self-Developing: ${opened.label}: backend ${info.backendVersion}${opened.deploy ? (opened.deploy.installed ? ' (installed now)' : ' (already installed)') : ''} on ${info.host ?? '?'} (${info.platform}, ${info.cpus} CPUs, ${gpus}); execution providers: ${info.executionProviders.join(', ')}.`;
  if (problems.length) void vscode.window.showWarningMessage(`${message} Problems: ${problems.join(' ')}`);
  else void vscode.window.showInformationMessage(message);
  return { label: opened.label, info, deploy: opened.deploy };
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
      validateInput: (v) => (SSH_DESTINATION.test(v.trim()) ? undefined : 'user@host or a Host name: letters, digits and . _ - @ : % +, not starting with -'),
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
