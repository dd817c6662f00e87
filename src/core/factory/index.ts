// The built-in algorithm factory (issue #6): a probabilistic program model over the building
// blocks of merge algorithms, refined by exact DPO. docs/FACTORY.md describes it.
import { traceOfCode } from './codegen';
import { GRAMMAR_ID } from './grammar';
import type { Trace } from './program';
import type { FactoryState } from './state';

export { CHOICE_POINTS, GRAMMAR_ID, type ChoicePoint, type OptionValue } from './grammar';
export { type Program, type Trace, type Decision, traceDecisions, programFromTrace, buildTrace } from './program';
export { canonicalKey, canonicalProgram, summariseProgram, baselineFamily } from './canonical';
export { renderTrace, TRACE_MARKER } from './codegen';
export { renderCompact } from './compact';
export {
  type FactoryState,
  type LogitTables,
  type RefineOptions,
  type RefinementRecord,
  DEFAULT_REFINE_OPTIONS,
  initialFactory,
  parseFactoryState,
} from './state';
export { type FactorySample, sampleAlgorithms, logProbability, softmax } from './sample';
export { type PreferencePair, type RefineReport, refineWithDpo, dpoObjective } from './dpo';
export { describeFactory, entropyBits } from './describe';
export { normaliseCode } from './normaliseCode';

/**
 * The trace of code this factory wrote (unchanged since), or undefined for code written or
 * edited by anyone else. Pairs whose code gives undefined cannot be used for DPO.
 */
export function traceFromCode(state: FactoryState, code: string): Trace | undefined {
  // A trace means something only to a factory of the grammar that wrote it.
  if (state.grammar !== GRAMMAR_ID) return undefined;
  return traceOfCode(code);
}
