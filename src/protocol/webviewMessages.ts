// The whole contract between the results panel host and its webview. Both sides import only
// this file; the host checks every incoming message with parseFromWebview before using it.
// The webview posts `ready` first, then asks for one run overview and one iteration at a time.

export interface RunListEntry {
  id: string;
  name: string;
  iterations: number[];
  problem?: string;
  /** True while a loop of this run is in progress in this window. */
  running?: boolean;
}

/** A score with its 95% bootstrap interval (accuracy in [0, 1]). */
export interface ScorePoint {
  id: string;
  score: number;
  interval: [number, number];
}

export interface IterationOverview {
  iteration: number;
  temperature: number;
  algorithms: number;
  ok: number;
  failed: number;
  meanScore: number | null;
  /** Best of this iteration (vetoed algorithms left out). */
  best: ScorePoint | null;
  /** Best of iterations 1..this one. */
  bestSoFar: ScorePoint | null;
  /** Refinement of this iteration is recorded. */
  complete: boolean;
}

export interface RunOverview {
  runId: string;
  name: string;
  branch: string;
  iterations: IterationOverview[];
  seed: ScorePoint | null;
  bestBaseline: ScorePoint | null;
  /** The random-program control: its best over all iterations so far, and its mean. */
  control: { best: ScorePoint | null; meanScore: number | null };
  /** The best candidate model by dev, scored as it is: the line a merge has to clear. */
  bestCandidate: ScorePoint | null;
  finalized: boolean;
  /** After finalize: the paired comparisons on the sealed test split (summary.json). */
  comparisons: { count: number; rows: ComparisonRow[] } | null;
  /** After `selfdev transfer`: test scores, algorithms (and the re-tuned baseline) x candidate sets. */
  transfer: { sets: string[]; rows: { id: string; cells: (number | null)[] }[] } | null;
  /** The factory's versions: per finished iteration, which version wrote it and how DPO on its
   * pairs made the next one (with the training and held-out figures), or why it did not. */
  lineage: FactoryStep[];
}

export interface FactoryStep {
  iteration: number;
  kind: 'grammar' | 'llm';
  /** The version that wrote the iteration. */
  wrote: number;
  /** The version after the iteration's refinement (writes the next iteration). */
  version: number;
  status: 'refined' | 'deferred' | 'disabled' | 'skipped' | 'not-refined';
  reason?: string;
  pairs: number;
  pairsUsed: number;
  /** DPO loss on the training pairs, first and last step. */
  loss: [number | null, number | null] | null;
  /** Training pairs whose implicit reward margin is positive, after refinement. */
  rewardAccuracy: number | null;
  rewardMargin: number | null;
  /** LLM factory: pairs held out of training, log-probability margin (chosen - rejected) before and after. */
  heldOut: { pairs: number; marginBefore: number; marginAfter: number; rewardAccuracy: number; change: DifferenceInterval | null } | null;
  /** LLM factory: the refined weights' hash (first 12 hex digits). */
  weights?: string;
}

/** A difference of scores (0..1) with its 95% interval. */
export interface DifferenceInterval {
  difference: number;
  low: number;
  high: number;
}

/** One paired comparison on the sealed test split: a minus b, in accuracy (0..1). */
export interface ComparisonRow {
  question: string;
  a: string;
  b: string;
  difference: number;
  low: number;
  high: number;
  p: number;
  pHolm: number;
}

export type AlgorithmStatus = 'ok' | 'failed' | 'pending';

export interface AlgorithmRow {
  /** a0007 */
  id: string;
  iteration: number;
  status: AlgorithmStatus;
  score?: number;
  interval?: [number, number];
  errorClass?: string;
  message?: string;
  factoryVersion?: number;
  temperature?: number;
  /** One line saying what the program does. */
  summary?: string;
  vetoed: boolean;
  /** Changed by a person after generation (re-scored since). */
  edited: boolean;
  /** Best (non-vetoed) of its iteration. */
  best: boolean;
  /** Identical code scored earlier: iteration/id of that record. */
  reusedFrom?: string;
  /** How the code was contained when it ran ('unisolated': the user opted out of kernel isolation). */
  isolation?: 'kernel' | 'unisolated';
}

export interface PairRow {
  /** Position in the iteration's pairs.jsonl. */
  index: number;
  /** iteration/id, e.g. 2/a0007 (elitism pairs earlier iterations' best). */
  chosen: string;
  rejected: string;
  chosenScore: number;
  rejectedScore: number | null;
  /** chosenScore - rejectedScore; null when the rejected failed. */
  margin: number | null;
  why: string;
  vetoed: boolean;
}

export interface IterationData {
  runId: string;
  iteration: number;
  temperature: number;
  factoryVersion: number | null;
  algorithms: AlgorithmRow[];
  pairs: PairRow[];
  /** Dev scores of this iteration's random-program control share (for the distribution). */
  controlScores: number[];
  /** Reference lines for the distribution chart. */
  seed: number | null;
  bestBaseline: number | null;
  bestCandidate: number | null;
  /** What the control is: the grammar's random programs, or the unrefined LLM generator (v0). */
  controlLabel: string;
  /** Does refinement help: this iteration's programs against the control's at the same
   * temperature (difference of means, and of the means of each side's best k). */
  refinement: { mean: DifferenceInterval; top: DifferenceInterval & { k: number } } | null;
}

export interface DiffLine {
  /** ' ' same, '+' added, '-' removed (relative to `against`). */
  op: ' ' | '+' | '-';
  text: string;
}

export interface AlgorithmDetail {
  runId: string;
  iteration: number;
  id: string;
  code: string;
  row: AlgorithmRow;
  error?: { errorClass: string; message?: string; detail?: string };
  /** Line diff against the best algorithm of an earlier iteration, when there is one. */
  diff?: { against: string; againstScore: number; lines: DiffLine[] };
  /** Every score of this algorithm, oldest first; the last is the current one. */
  history: ScoreHistoryEntry[];
  /** LLM factory: how the algorithm was written (prompt, raw completion, extraction). */
  generation?: GenerationDetail;
}

export interface ScoreHistoryEntry {
  score: number | null;
  status: AlgorithmStatus;
  /** Why it was scored: first score, after an edit, or a re-evaluation of the same code. */
  reason: 'first score' | 'edit' | 're-evaluation';
  /** When (ISO 8601): the commit's time, else the record's. */
  at?: string;
  /** The run branch's commit that recorded it (abbreviated), and its message. */
  commit?: string;
  subject?: string;
}

export interface GenerationDetail {
  /** The exact prompt text the model saw (the iteration's prompt.md). */
  prompt: string;
  completion: string;
  model: string;
  finishReason: string;
  /** e.g. "temperature 1.000 · top-p 1 · seed 1001 · 80 + 143 tokens" */
  sampling: string;
  /** e.g. "fenced block 1 of 2", "bare code", "no code: ..." */
  extraction: string;
  /** Earlier algorithm with the same code, when this one was a duplicate. */
  duplicateOf?: string;
}

export interface PairSide {
  ref: string;
  score: number | null;
  code: string;
}

export interface PairDetail {
  runId: string;
  iteration: number;
  index: number;
  chosen: PairSide;
  rejected: PairSide;
  margin: number | null;
  why: string;
  vetoed: boolean;
  /** Why this pair can no longer be vetoed or restored (its iteration is already refined with
   * it), when so: the panel disables the control and says this beside it. */
  vetoLocked?: string;
}

/** Live progress of a loop, pushed while it runs. */
export interface LiveStatus {
  runId: string;
  iteration: number;
  phase: string;
  done?: number;
  total?: number;
  /** What the phase is doing, in words (e.g. DPO's step, loss and reward accuracy). */
  detail?: string;
  /** Scale-out: the run's workers in a line, and one line per worker. */
  workers?: { summary: string; lines: string[]; open: boolean; running: number; total: number };
  /** Seconds the phase still needs, from its pace so far (long phases only). */
  secondsLeft?: number;
}

/** The one vocabulary of a loop's phases: the status bar, the progress notification, the
 * panel, the Runs tree and the CLI all say these words. */
export const PHASE_WORDS: Readonly<Record<string, string>> = {
  starting: 'starting',
  baselines: 'scoring baselines',
  generate: 'generating',
  score: 'scoring',
  control: 'scoring the control',
  pairs: 'pairing',
  refine: 'refining',
  finalize: 'scoring the sealed test split',
  transfer: 'scoring a transfer set',
};

/** "iteration 2 · scoring 20/32 · about 1 min left", "scoring baselines 6/32". */
export function describeLive(s: Pick<LiveStatus, 'iteration' | 'phase' | 'done' | 'total' | 'secondsLeft'>): string {
  const count = s.done !== undefined && s.total ? ` ${s.done}/${s.total}` : '';
  const left = s.secondsLeft !== undefined ? ` · ${aboutLeft(s.secondsLeft)}` : '';
  return `${s.iteration ? `iteration ${s.iteration} · ` : ''}${PHASE_WORDS[s.phase] ?? s.phase}${count}${left}`;
}

/** 75 -> "about 1 min 15 s left"; rounded to what an estimate can claim. */
export function aboutLeft(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `about ${Math.max(5, Math.round(s / 5) * 5)} s left`;
  if (s < 3600) {
    const m = Math.floor(s / 60);
    const r = Math.round((s % 60) / 15) * 15;
    return `about ${r === 60 ? m + 1 : m} min${r && r < 60 ? ` ${r} s` : ''} left`;
  }
  const h = Math.floor(s / 3600);
  const m = Math.round((s % 3600) / 300) * 5;
  return `about ${m === 60 ? h + 1 : h} h${m && m < 60 ? ` ${m} min` : ''} left`;
}

/** Commands the webview may ask the host to run; anything else is refused. */
export const WEBVIEW_COMMANDS = ['selfdev.startDemo', 'selfdev.newRun', 'selfdev.runNextIteration', 'selfdev.stop', 'selfdev.continueRun', 'selfdev.exportReport'] as const;
export type WebviewCommand = (typeof WEBVIEW_COMMANDS)[number];

export type ToWebview =
  | { t: 'runs'; runs: RunListEntry[] }
  | { t: 'overview'; overview: RunOverview }
  | { t: 'iteration'; data: IterationData }
  | { t: 'detail'; requestId: number; detail: AlgorithmDetail }
  | { t: 'pair'; requestId: number; pair: PairDetail }
  | { t: 'live'; status: LiveStatus | null }
  /** Something changed on disk for this run (a commit): ask again for what is shown. */
  | { t: 'changed'; runId: string }
  /** Select this run/iteration (e.g. the user opened the panel from a tree node). */
  | { t: 'focus'; runId: string; iteration?: number }
  /** requestId: the detail or pair request that failed; action: the control whose action failed
   *  (shown beside it; the extension also shows a notification). Neither: the panel's banner. */
  | { t: 'error'; message: string; requestId?: number; action?: 'vetoPair' };

export type FromWebview =
  | { t: 'ready' }
  | { t: 'refresh' }
  | { t: 'command'; command: WebviewCommand; runId?: string }
  | { t: 'selectRun'; runId: string }
  | { t: 'selectIteration'; runId: string; iteration: number }
  | { t: 'requestDetail'; requestId: number; runId: string; iteration: number; id: string }
  | { t: 'requestPair'; requestId: number; runId: string; iteration: number; index: number }
  | { t: 'openAlgorithm'; runId: string; iteration: number; id: string }
  | { t: 'exportModel'; runId: string; iteration: number; id: string }
  | { t: 'veto'; runId: string; iteration: number; id: string; undo: boolean }
  | { t: 'vetoPair'; runId: string; iteration: number; index: number; undo: boolean };

export const RUN_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
/** Ids of generated algorithms (the ones that have files in iterations/NN/algorithms). */
export const ALGORITHM_ID_PATTERN = /^a\d{4,6}$/;

const isRunId = (v: unknown): v is string => typeof v === 'string' && RUN_ID_PATTERN.test(v);
const isCount = (v: unknown, max: number): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= max;
const isIteration = (v: unknown): v is number => isCount(v, 999) && v >= 1;
const isAlgorithmId = (v: unknown): v is string => typeof v === 'string' && ALGORITHM_ID_PATTERN.test(v);

/** Validates a message from the webview; undefined for anything malformed. */
export function parseFromWebview(msg: unknown): FromWebview | undefined {
  if (typeof msg !== 'object' || msg === null) return undefined;
  const m = msg as Record<string, unknown>;
  switch (m.t) {
    case 'ready':
    case 'refresh':
      return { t: m.t };
    case 'command':
      if (typeof m.command !== 'string' || !(WEBVIEW_COMMANDS as readonly string[]).includes(m.command)) return undefined;
      if (m.runId !== undefined && !isRunId(m.runId)) return undefined;
      return { t: 'command', command: m.command as WebviewCommand, ...(m.runId !== undefined ? { runId: m.runId as string } : {}) };
    case 'selectRun':
      return isRunId(m.runId) ? { t: 'selectRun', runId: m.runId } : undefined;
    case 'selectIteration':
      return isRunId(m.runId) && isIteration(m.iteration) ? { t: 'selectIteration', runId: m.runId, iteration: m.iteration } : undefined;
    case 'requestDetail':
      return isCount(m.requestId, Number.MAX_SAFE_INTEGER) && isRunId(m.runId) && isIteration(m.iteration) && isAlgorithmId(m.id)
        ? { t: 'requestDetail', requestId: m.requestId, runId: m.runId, iteration: m.iteration, id: m.id }
        : undefined;
    case 'requestPair':
      return isCount(m.requestId, Number.MAX_SAFE_INTEGER) && isRunId(m.runId) && isIteration(m.iteration) && isCount(m.index, 1_000_000)
        ? { t: 'requestPair', requestId: m.requestId, runId: m.runId, iteration: m.iteration, index: m.index }
        : undefined;
    case 'openAlgorithm':
      return isRunId(m.runId) && isIteration(m.iteration) && isAlgorithmId(m.id) ? { t: 'openAlgorithm', runId: m.runId, iteration: m.iteration, id: m.id } : undefined;
    case 'exportModel':
      return isRunId(m.runId) && isIteration(m.iteration) && isAlgorithmId(m.id) ? { t: 'exportModel', runId: m.runId, iteration: m.iteration, id: m.id } : undefined;
    case 'veto':
      return isRunId(m.runId) && isIteration(m.iteration) && isAlgorithmId(m.id) && typeof m.undo === 'boolean'
        ? { t: 'veto', runId: m.runId, iteration: m.iteration, id: m.id, undo: m.undo }
        : undefined;
    case 'vetoPair':
      return isRunId(m.runId) && isIteration(m.iteration) && isCount(m.index, 1_000_000) && typeof m.undo === 'boolean'
        ? { t: 'vetoPair', runId: m.runId, iteration: m.iteration, index: m.index, undo: m.undo }
        : undefined;
    default:
      return undefined;
  }
}
