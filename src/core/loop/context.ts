// What the loop's parts (scoring, finalize, summary, curation) need of a run, and nothing more:
// its header, its files to read, its worktree to write and commit, events and cancellation.
// RunLoop provides it; the parts never reach back into the loop itself.
import type { RefineProgressParams, WorkerPoolStatus } from '../../protocol/backend';
import type { RunConfig } from '../config/runConfig';
import type { ScoredRecord } from '../run/records';
import type { RunFiles, RunHeader } from '../run/runFiles';
import type { Run } from '../store/runStore';

export type LoopPhase = 'baselines' | 'generate' | 'score' | 'control' | 'pairs' | 'refine' | 'finalize' | 'transfer';

/** Where the loop can wait for a person: before scoring what was generated, before DPO. */
export type PausePoint = 'afterGeneration' | 'beforeRefinement';

export type LoopEvent =
  | { type: 'phase'; iteration: number; phase: LoopPhase; total?: number }
  | { type: 'scored'; iteration: number; record: ScoredRecord; done: number; total: number }
  | { type: 'generating'; iteration: number; done: number; total: number }
  /** The LLM factory's DPO: loading, evaluating, each training step (loss, reward accuracy and margin), saving. */
  | { type: 'refining'; iteration: number; progress: RefineProgressParams }
  | { type: 'committed'; message: string }
  /** The run's workers (scale-out): their states, the queue and the throughput. */
  | { type: 'workers'; status: WorkerPoolStatus }
  | { type: 'paused'; iteration: number; point: PausePoint }
  | { type: 'resumed'; iteration: number; point: PausePoint };

export class LoopCancelled extends Error {
  constructor() {
    super('cancelled');
    this.name = 'LoopCancelled';
  }
}

export interface RunContext {
  readonly header: RunHeader;
  readonly config: RunConfig;
  /** Reading (the loop's reader: repairs a line a crash cut short). */
  readonly files: RunFiles;
  /** Writing, appending, committing and tagging in the run's worktree. */
  readonly run: Run;
  readonly signal?: AbortSignal;
  emit(e: LoopEvent): void;
  checkCancelled(): void;
  commit(message: string): Promise<void>;
}

/** Three decimals, for commit messages. */
export function fmt(x: number | undefined): string {
  return x === undefined ? '-' : x.toFixed(3);
}
