import * as vscode from 'vscode';
import { selectBackend } from '../backendPicker';
import type { LoopController } from '../loopController';
import { curationCommands } from './curationCommands';
import { exportCommands } from './exportCommands';
import { loopCommands } from './loopCommands';
import type { CommandMap } from './registerCommands';
import { selectPythonInterpreter } from '../pythonInterpreter';
import { ResultsPanel, type PanelFocus } from '../resultsPanel';
import { runIdOf, type RunContext } from '../runChoice';
import type { RunsTreeProvider } from '../runsTree';

export interface CommandDeps {
  context: vscode.ExtensionContext;
  runsTree: RunsTreeProvider;
  runsLocation: () => string;
  log: vscode.LogOutputChannel;
  loop: LoopController;
  runs: RunContext;
}

/** What to show when the panel is opened from a tree node, the status bar or a message. */
function panelFocus(arg: unknown): PanelFocus | undefined {
  const runId = runIdOf(arg);
  if (!runId) return undefined;
  const iteration = (arg as { iteration?: unknown } | undefined)?.iteration;
  return { runId, ...(typeof iteration === 'number' ? { iteration } : {}) };
}

/** The handler of every contributed command. */
export function commandMap({ context, runsTree, runsLocation, log, loop, runs }: CommandDeps): CommandMap {
  return {
    ...loopCommands(loop, context, runs, runsLocation),
    ...curationCommands(loop, runsLocation),
    ...exportCommands(loop, runsLocation, runs, () => runsTree.refresh()),
    'selfdev.openResults': (arg?: unknown) => {
      ResultsPanel.show({ extensionUri: context.extensionUri, runsLocation, log, loop }, panelFocus(arg));
      return true;
    },
    'selfdev.selectBackend': (choice?: unknown) => selectBackend(context, choice),
    'selfdev.selectPythonInterpreter': (interpreter?: unknown) => selectPythonInterpreter(interpreter),
    'selfdev.refreshRuns': () => {
      runsTree.refresh();
      ResultsPanel.refreshIfOpen();
    },
  };
}
