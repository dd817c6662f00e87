// The sandboxed Python runner: apply a merge algorithm to a seed model (issue #5, docs/SANDBOX.md).
export { applyAlgorithm, findRunnerScript, parseResult, runnerEnvironment, type ApplyOptions } from './applyAlgorithm';
export * from './types';
