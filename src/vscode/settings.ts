import * as os from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';

export type BackendKind = 'local' | 'ssh' | 'websocket';
export type ExecutionProvider = 'cpu' | 'cuda' | 'dml' | 'coreml';

const SECTION = 'selfdev';

function config(): vscode.WorkspaceConfiguration {
  return vscode.workspace.getConfiguration(SECTION);
}

/** Typed access to the extension's settings; package.json declares each of them. */
export const settings = {
  pythonInterpreter: (): string => config().get<string>('python.interpreter', '').trim(),
  /** Python with TRL and PEFT for refining the LLM factory (empty: the backend's default). */
  trainingPython: (): string => config().get<string>('training.python', '').trim(),
  backendKind: (): BackendKind => config().get<BackendKind>('backend.kind', 'local'),
  executionProvider: (): ExecutionProvider => config().get<ExecutionProvider>('backend.executionProvider', 'cpu'),
  threads: (): number => config().get<number>('backend.threads', 0),
  sshHost: (): string => config().get<string>('backend.sshHost', '').trim(),
  websocketUrl: (): string => config().get<string>('backend.websocketUrl', '').trim(),
  /** ssh: a config file for ssh -F (empty: ~/.ssh/config). */
  sshConfigFile: (): string => config().get<string>('backend.sshConfigFile', '').trim(),
  /** Node and Python on the remote host, and the backend's folder there. */
  remoteNode: (): string => config().get<string>('backend.remoteNode', 'node').trim() || 'node',
  remotePython: (): string => config().get<string>('backend.remotePython', 'python3').trim() || 'python3',
  remoteDir: (): string => config().get<string>('backend.remoteDir', '').trim(),
  /** The PEM file of a WebSocket backend's self-signed certificate, pinned. */
  pinnedCertificate: (): string => config().get<string>('backend.pinnedCertificate', '').trim(),
  runsLocationSetting: (): string => config().get<string>('runs.location', '').trim(),
  pauseAfterGeneration: (): boolean => config().get<boolean>('pause.afterGeneration', false),
  pauseBeforeRefinement: (): boolean => config().get<boolean>('pause.beforeRefinement', false),
  allowUnisolated: (): boolean => config().get<boolean>('sandbox.allowUnisolated', false),
  /** The LLM factory's OpenAI-compatible endpoint offered by New Run (the key is in secret storage). */
  llmBaseUrl: (): string => config().get<string>('llm.baseUrl', '').trim(),
  llmModel: (): string => config().get<string>('llm.model', '').trim(),
  llmApi: (): 'chat' | 'completions' => config().get<'chat' | 'completions'>('llm.api', 'chat'),
  llmConcurrency: (): number => config().get<number>('llm.concurrency', 4),
  /** Scale-out over the run config's launcher: null (the config's), "local", or a launcher object. */
  launcher: (): unknown => config().get<unknown>('scaleOut.launcher', null),

  async update(key: string, value: unknown, target = vscode.ConfigurationTarget.Global): Promise<void> {
    await config().update(key, value, target);
  },
};

/** Where run worktrees live: the setting (with ~ and ${workspaceFolder}), else extension storage. */
export function runsLocation(context: vscode.ExtensionContext): string {
  const configured = settings.runsLocationSetting();
  const workspace = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
  if (configured) {
    let p = configured.replace(/^~(?=$|[\\/])/, os.homedir());
    if (workspace) p = p.replace(/\$\{workspaceFolder\}/g, workspace);
    return path.resolve(workspace ?? os.homedir(), p);
  }
  const storage = context.storageUri ?? context.globalStorageUri;
  return path.join(storage.fsPath, 'runs');
}
