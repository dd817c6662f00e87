import * as vscode from 'vscode';
import { RunConfigError } from '../../core/config/runConfig';
import type { CommandId } from '../commandIds';

export type CommandHandler = (...args: unknown[]) => unknown;

/** One handler for each command id: the compiler rejects a map that misses one. */
export type CommandMap = Record<CommandId, CommandHandler>;

/**
 * Registers every command with one error boundary, so a failing command shows its message to
 * the user and in the output channel instead of vanishing into the extension host log.
 */
export interface CommandFailure {
  command: CommandId;
  message: string;
}

export function registerCommands(map: CommandMap, log: vscode.LogOutputChannel, onFailure?: (f: CommandFailure) => void, onConfigError?: (err: RunConfigError) => void): vscode.Disposable[] {
  return (Object.keys(map) as CommandId[]).map((id) =>
    vscode.commands.registerCommand(id, async (...args: unknown[]) => {
      try {
        return await map[id](...args);
      } catch (err) {
        if (err instanceof vscode.CancellationError) return undefined;
        const message = err instanceof Error ? err.message : String(err);
        log.error(`${id} failed: ${err instanceof Error && err.stack ? err.stack : message}`);
        onFailure?.({ command: id, message });
        // A config's problems go where they can be fixed: the file, the Problems view.
        if (err instanceof RunConfigError && onConfigError) onConfigError(err);
        else void vscode.window.showErrorMessage(`Self-Developing: ${message}`);
        return undefined;
      }
    }),
  );
}
