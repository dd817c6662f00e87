import * as vscode from 'vscode';
import { selectBackend } from '../backendPicker';
import type { LoopController } from '../loopController';
import { loopCommands } from './loopCommands';
import type { CommandMap } from './registerCommands';
import { planned } from './planned';
import { selectPythonInterpreter } from '../pythonInterpreter';
import { ResultsPanel } from '../resultsPanel';
import type { RunsTreeProvider } from '../runsTree';

export interface CommandDeps {
  context: vscode.ExtensionContext;
  runsTree: RunsTreeProvider;
  runsLocation: () => string;
  log: vscode.LogOutputChannel;
  loop: LoopController;
  listRunIds: () => Promise<string[]>;
}

/** The handler of every contributed command. */
export function commandMap({ context, runsTree, runsLocation, log, loop, listRunIds }: CommandDeps): CommandMap {
  return {
    ...loopCommands(loop, context, listRunIds),
    'selfdev.openResults': () => {
      ResultsPanel.show(context.extensionUri, runsLocation, log);
    },
    'selfdev.vetoAlgorithm': planned('selfdev.vetoAlgorithm'),
    'selfdev.unvetoAlgorithm': planned('selfdev.unvetoAlgorithm'),
    'selfdev.reevaluateAlgorithm': planned('selfdev.reevaluateAlgorithm'),
    'selfdev.compareAlgorithms': planned('selfdev.compareAlgorithms'),
    'selfdev.transferAlgorithm': planned('selfdev.transferAlgorithm'),
    'selfdev.selectBackend': (choice?: unknown) => selectBackend(context, choice),
    'selfdev.selectPythonInterpreter': (interpreter?: unknown) => selectPythonInterpreter(interpreter),
    'selfdev.refreshRuns': () => {
      runsTree.refresh();
      ResultsPanel.refreshIfOpen();
    },
  };
}
