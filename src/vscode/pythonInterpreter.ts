import { PVSC_EXTENSION_ID, PythonExtension } from '@vscode/python-extension';
import * as vscode from 'vscode';
import { describeIsolation, probeIsolation, probePython, pythonProblems, type IsolationReport, type PythonReport } from '../engine/pythonProbe';
import { findRunnerScript } from '../engine/runner';
import { settings } from './settings';

const DEFAULT_INTERPRETER = process.platform === 'win32' ? 'python' : 'python3';

/** The Python extension's active interpreter for this workspace, when that extension is installed. */
export async function activeInterpreterOfPythonExtension(): Promise<string | undefined> {
  if (!vscode.extensions.getExtension(PVSC_EXTENSION_ID)) return undefined;
  try {
    const { environments } = await PythonExtension.api();
    const active = environments.getActiveEnvironmentPath(vscode.workspace.workspaceFolders?.[0]?.uri);
    // The path may name an environment folder; the resolved environment names its executable.
    const resolved = await environments.resolveEnvironment(active);
    return resolved?.executable.uri?.fsPath || active.path || undefined;
  } catch {
    return undefined;
  }
}

/** The interpreter runs use: the setting, else the Python extension's choice, else python3. */
export async function resolveInterpreter(): Promise<string> {
  return settings.pythonInterpreter() || (await activeInterpreterOfPythonExtension()) || DEFAULT_INTERPRETER;
}

/**
 * Lets the user pick an interpreter, checks it, and saves it in the settings.
 * Called with a path (from tests or other commands) it skips the picker.
 */
export async function selectPythonInterpreter(given?: unknown): Promise<(PythonReport & { isolation: IsolationReport }) | undefined> {
  const chosen = typeof given === 'string' && given ? given : await pickInterpreter();
  if (!chosen) return undefined;
  const report = await vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title: `Checking ${chosen}…` },
    async () => {
      const python = await probePython(chosen);
      return { ...python, isolation: await probeIsolation(chosen, findRunnerScript()) };
    },
  );
  await settings.update('python.interpreter', chosen);
  const problems = pythonProblems(report);
  if (!report.isolation.available) {
    problems.push(
      `Generated code cannot be isolated here: ${report.isolation.reason}. To fix: ${report.isolation.fix}. ` +
        (settings.allowUnisolated() ? 'Runs will execute it UNISOLATED (selfdev.sandbox.allowUnisolated is on).' : 'Runs will refuse to execute it unless you turn on selfdev.sandbox.allowUnisolated.'),
    );
  }
  const summary = `Python ${report.version} (${report.executable}): numpy ${report.numpy ?? 'missing'}, torch ${
    report.torch ? `${report.torch}${report.cuda ? ' with CUDA' : ', CPU only'}` : 'missing (optional)'
  }; isolation ${describeIsolation(report.isolation)}.`;
  if (problems.length) void vscode.window.showWarningMessage(`Self-Developing: ${summary} ${problems.join(' ')}`);
  else void vscode.window.showInformationMessage(`Self-Developing: using ${summary}`);
  return report;
}

async function pickInterpreter(): Promise<string | undefined> {
  const current = await resolveInterpreter();
  const fromExtension = await activeInterpreterOfPythonExtension();
  const items: (vscode.QuickPickItem & { value?: string })[] = [
    { label: current, description: 'current', value: current },
  ];
  if (fromExtension && fromExtension !== current) {
    items.push({ label: fromExtension, description: "Python extension's active interpreter", value: fromExtension });
  }
  if (DEFAULT_INTERPRETER !== current) items.push({ label: DEFAULT_INTERPRETER, description: 'from PATH', value: DEFAULT_INTERPRETER });
  items.push({ label: '$(folder) Enter interpreter path…', alwaysShow: true });
  const picked = await vscode.window.showQuickPick(items, { title: 'Python interpreter for merge algorithms' });
  if (!picked) return undefined;
  if (picked.value) return picked.value;
  return vscode.window.showInputBox({
    title: 'Python interpreter',
    prompt: 'Path to a python executable (3.9 or newer, with numpy)',
    validateInput: (v) => (v.trim() ? undefined : 'Enter a path'),
  });
}
