// A run config's problems where the user can act on them: all of them in the Problems view and
// underlined in the file (beside the JSON schema's own checks while typing), and a notification
// that opens the file at the first one. Saving the file checks it again.
import * as vscode from 'vscode';
import * as path from 'node:path';
import { readRunConfig, RunConfigError, type ConfigProblem } from '../core/config/runConfig';

function rangeOf(p: ConfigProblem): vscode.Range {
  const at = new vscode.Position(Math.max(0, (p.line ?? 1) - 1), Math.max(0, (p.column ?? 1) - 1));
  return new vscode.Range(at, at.translate(0, 1));
}

export class ConfigProblems implements vscode.Disposable {
  private readonly diagnostics = vscode.languages.createDiagnosticCollection('selfdev-config');
  private readonly onSave: vscode.Disposable;

  constructor() {
    this.onSave = vscode.workspace.onDidSaveTextDocument((doc) => {
      if (this.diagnostics.has(doc.uri)) void this.check(doc.uri.fsPath);
    });
  }

  /** Shows a config's problems; the notification's action opens the file at the first. */
  show(err: RunConfigError): void {
    const uri = vscode.Uri.file(err.file);
    this.set(err);
    const first = err.problems[0];
    const where = first.line ? `${path.basename(err.file)}:${first.line}:${first.column ?? 1}` : path.basename(err.file);
    const more = err.problems.length > 1 ? ` (and ${err.problems.length - 1} more problem${err.problems.length > 2 ? 's' : ''}, listed in the Problems view)` : '';
    void vscode.window.showErrorMessage(`Self-Developing: ${where}: ${first.field ? `${first.field}: ` : ''}${first.problem}${more}`, 'Open Config').then((choice) => {
      if (choice) void vscode.window.showTextDocument(uri, { selection: rangeOf(first) });
    });
  }

  /** The problems of a file now: [] once it reads cleanly. */
  problems(file: string): readonly vscode.Diagnostic[] {
    return this.diagnostics.get(vscode.Uri.file(file)) ?? [];
  }

  private set(err: RunConfigError): void {
    this.diagnostics.set(
      vscode.Uri.file(err.file),
      err.problems.map((p) => {
        const d = new vscode.Diagnostic(rangeOf(p), `${p.field ? `${p.field}: ` : ''}${p.problem}`, vscode.DiagnosticSeverity.Error);
        d.source = 'Self-Developing';
        return d;
      }),
    );
  }

  private async check(file: string): Promise<void> {
    try {
      await readRunConfig(file);
      this.diagnostics.delete(vscode.Uri.file(file));
    } catch (err) {
      if (err instanceof RunConfigError) this.set(err);
    }
  }

  dispose(): void {
    this.onSave.dispose();
    this.diagnostics.dispose();
  }
}
