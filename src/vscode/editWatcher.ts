// Saving an algorithm's .py in a run's worktree scores it again and commits the edit with its
// new result; files elsewhere are not ours to touch.
import * as vscode from 'vscode';
import { refFromPath } from './algorithmRef';
import { rescore } from './commands/curationCommands';
import type { LoopController } from './loopController';

export function watchAlgorithmEdits(loop: LoopController, runsDir: () => string, log: vscode.LogOutputChannel): vscode.Disposable {
  return vscode.workspace.onDidSaveTextDocument((doc) => {
    if (doc.uri.scheme !== 'file') return;
    const ref = refFromPath(doc.uri.fsPath, runsDir());
    if (!ref) return;
    rescore(loop, ref, 'edit').catch((err: Error) => {
      log.error(`scoring the edit of ${ref.runId} ${ref.iteration}/${ref.id}: ${err.stack ?? err.message}`);
      void vscode.window.showErrorMessage(`Self-Developing: the edit of ${ref.iteration}/${ref.id} was saved but not scored: ${err.message}`);
    });
  });
}
