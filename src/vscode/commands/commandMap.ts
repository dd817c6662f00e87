import * as vscode from 'vscode';
import { selectBackend } from '../backendPicker';
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
}

/** The handler of every contributed command. */
export function commandMap({ context, runsTree, runsLocation, log }: CommandDeps): CommandMap {
  return {
    'selfdev.startDemo': planned('selfdev.startDemo'),
    'selfdev.newRun': planned('selfdev.newRun'),
    'selfdev.runNextIteration': planned('selfdev.runNextIteration'),
    'selfdev.runIterations': planned('selfdev.runIterations'),
    'selfdev.stop': planned('selfdev.stop'),
    'selfdev.openResults': () => {
      ResultsPanel.show(context.extensionUri, runsLocation, log);
    },
    'selfdev.openAlgorithm': planned('selfdev.openAlgorithm'),
    'selfdev.vetoAlgorithm': planned('selfdev.vetoAlgorithm'),
    'selfdev.unvetoAlgorithm': planned('selfdev.unvetoAlgorithm'),
    'selfdev.reevaluateAlgorithm': planned('selfdev.reevaluateAlgorithm'),
    'selfdev.compareAlgorithms': planned('selfdev.compareAlgorithms'),
    'selfdev.finalize': planned('selfdev.finalize'),
    'selfdev.transferAlgorithm': planned('selfdev.transferAlgorithm'),
    'selfdev.revealBranch': planned('selfdev.revealBranch'),
    'selfdev.selectBackend': (choice?: unknown) => selectBackend(context, choice),
    'selfdev.selectPythonInterpreter': (interpreter?: unknown) => selectPythonInterpreter(interpreter),
    'selfdev.refreshRuns': () => {
      runsTree.refresh();
      ResultsPanel.refreshIfOpen();
    },
  };
}
