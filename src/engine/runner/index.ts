// The sandboxed Python runner: apply a merge algorithm to a seed model (issue #5, docs/SANDBOX.md).
export { applyAlgorithm, findRunnerScript, parseChannel, resultFromRecord, resultWithoutRecord, runnerEnvironment, RESULT_FD, type ApplyOptions, type ChannelMessages } from './applyAlgorithm';
export * from './types';
export { WarmRunners } from './warmRunner';
