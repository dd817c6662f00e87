// Every command the extension contributes. package.json lists the same ids; a unit test and an
// integration test keep the three (this list, package.json, the registered commands) equal.
export const COMMAND_IDS = [
  'selfdev.startDemo',
  'selfdev.newRun',
  'selfdev.runNextIteration',
  'selfdev.runIterations',
  'selfdev.stop',
  'selfdev.continueRun',
  'selfdev.openResults',
  'selfdev.openAlgorithm',
  'selfdev.vetoAlgorithm',
  'selfdev.unvetoAlgorithm',
  'selfdev.reevaluateAlgorithm',
  'selfdev.compareAlgorithms',
  'selfdev.finalize',
  'selfdev.transferAlgorithm',
  'selfdev.exportModel',
  'selfdev.exportReport',
  'selfdev.exportBundle',
  'selfdev.openBundle',
  'selfdev.revealBranch',
  'selfdev.selectBackend',
  'selfdev.selectPythonInterpreter',
  'selfdev.refreshRuns',
  'selfdev.setLlmApiKey',
] as const;

export type CommandId = (typeof COMMAND_IDS)[number];
