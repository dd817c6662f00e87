// factory.json of an LLM factory iteration: which generator version wrote the iteration, how its
// pairs refined it (DPO with TRL/PEFT, or why not), and the weights of the version that writes
// next. The one reader of these files.
import type { DpoHyperparameters, DpoMetrics } from '../../protocol/backend';

export interface RefinedWeights {
  /** Under the backend's artifacts folder: "<run>/factory/v1-<hash12>" (adapter/, merged/). */
  artifact: string;
  /** sha256 over the merged weights' files. */
  hash: string;
}

export interface DpoDataRecord {
  /** Files of the run (TRL's preference format). */
  train: { file: string; rows: number; sha256: string };
  heldOut: { file: string; rows: number; sha256: string };
  /** The pairs behind the rows, "chosen>rejected", in row order. */
  trainPairs: string[];
  heldOutPairs: string[];
  /** Pairs left out because a side had no completion text. */
  skipped: number;
}

export type LlmRefinement =
  | {
      status: 'refined';
      data: DpoDataRecord;
      hyperparameters: DpoHyperparameters;
      metrics: DpoMetrics;
      weights: RefinedWeights & { adapterHash: string };
      /** What was refined: the configured model, or the parent version's artifact. */
      base: { model: string } | { artifact: string };
      timings: Record<string, number>;
    }
  /** deferred: the run's last planned iteration (refined if the run continues); disabled:
   * factory.refine.enabled is false; skipped: no pairs to train on; not-refined: the generator's
   * weights cannot be reached (an openai server without factory.refine.baseModel). */
  | { status: 'deferred' | 'disabled' | 'skipped' | 'not-refined'; reason: string; data?: DpoDataRecord };

export interface LlmFactoryRecord {
  kind: 'llm';
  /** The version after this iteration: the one that writes the next iteration. */
  version: number;
  parentVersion: number | null;
  /** The version that wrote this iteration. */
  wrote: number;
  generator: Record<string, unknown>;
  /** Weights of `version` (null: the configured model, version 0). */
  weights: RefinedWeights | null;
  temperature: number;
  pairs: number;
  pairsUsed: number;
  refinement: LlmRefinement | null;
  note?: string;
}

/** Reads an LLM factory.json; files of earlier versions (no weights, no refinement) read as
 * unrefined. Throws naming the file when it is not one. */
export function parseLlmFactoryRecord(text: string, file: string): LlmFactoryRecord {
  let json: Partial<LlmFactoryRecord>;
  try {
    json = JSON.parse(text) as Partial<LlmFactoryRecord>;
  } catch (err) {
    throw new Error(`${file}: not valid JSON (${(err as Error).message})`);
  }
  if (json.kind !== 'llm' || !Number.isInteger(json.version)) throw new Error(`${file}: not an LLM factory record (kind "llm" and a whole version expected)`);
  return {
    ...json,
    kind: 'llm',
    version: json.version!,
    parentVersion: json.parentVersion ?? null,
    wrote: json.wrote ?? json.version!,
    generator: json.generator ?? {},
    weights: json.weights ?? null,
    temperature: json.temperature ?? NaN,
    pairs: json.pairs ?? 0,
    pairsUsed: json.pairsUsed ?? 0,
    refinement: json.refinement ?? null,
  };
}
