import * as vscode from 'vscode';
import type { CommandId } from '../commandIds';

/** Commands whose feature has not landed yet, with the issue that brings it. */
const PLANNED: Partial<Record<CommandId, { feature: string; issue: number }>> = {
  'selfdev.vetoAlgorithm': { feature: 'Vetoing an algorithm', issue: 7 },
  'selfdev.unvetoAlgorithm': { feature: 'Undoing a veto', issue: 7 },
  'selfdev.reevaluateAlgorithm': { feature: 'Re-evaluating an algorithm', issue: 7 },
  'selfdev.compareAlgorithms': { feature: 'Comparing algorithms', issue: 7 },
  'selfdev.transferAlgorithm': { feature: 'Transferring an algorithm', issue: 7 },
};

export function plannedMessage(id: CommandId): string | undefined {
  const plan = PLANNED[id];
  return plan && `${plan.feature} from VS Code is not available in this version yet (planned in issue #${plan.issue}); the selfdev command line runs the loop today.`;
}

/** A handler that says clearly that the command's feature has not landed. */
export function planned(id: CommandId): () => Promise<string> {
  return async () => {
    const message = plannedMessage(id) ?? `${id} is not available yet.`;
    void vscode.window.showInformationMessage(`Self-Developing: ${message}`);
    return message;
  };
}
