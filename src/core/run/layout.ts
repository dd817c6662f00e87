// The run on disk (the "run-on-disk" contract of DESIGN.md and docs/ARCHITECTURE.md): every
// path inside a run's worktree and every id format, in one place. Paths are relative to the
// run's folder and use '/' (git's separator); join them with path.join for the file system.

const two = (t: number) => String(t).padStart(2, '0');
const four = (n: number) => String(n).padStart(4, '0');

export const RUN_FILE = 'run.json';
/** Live state of the run's workers (scale-out), kept in the worktree's private git folder. */
export const WORKERS_STATE_FILE = 'workers.json';
export const VETOES_FILE = 'vetoes.json';
export const SUMMARY_FILE = 'summary.json';
/** The seed, the tuned baselines and the random-program control of a run. */
export const BASELINES_FILE = 'baselines/results.jsonl';
export const FINAL_RESULTS_FILE = 'finalize/results.jsonl';
export const FINAL_REFERENCES_FILE = 'finalize/references.jsonl';
export const SEALED_FILE = 'finalize/sealed.json';
/** The random-program control's finalists on the sealed test split. */
export const FINAL_CONTROL_FILE = 'finalize/control.jsonl';

export const iterationDir = (t: number) => `iterations/${two(t)}`;
export const samplesFile = (t: number) => `${iterationDir(t)}/samples.jsonl`;
export const resultsFile = (t: number) => `${iterationDir(t)}/results.jsonl`;
export const pairsFile = (t: number) => `${iterationDir(t)}/pairs.jsonl`;
export const factoryFile = (t: number) => `${iterationDir(t)}/factory.json`;
export const promptFile = (t: number) => `${iterationDir(t)}/prompt.md`;
/** LLM factory: every raw completion, and how the iteration's generation was made. */
export const completionsFile = (t: number) => `${iterationDir(t)}/completions.jsonl`;
export const generationFile = (t: number) => `${iterationDir(t)}/generation.json`;
/** LLM factory: iteration t's preference pairs in TRL's format (prompt, chosen, rejected), the
 * pairs trained on and the pairs held out to measure the refinement. */
export const dpoTrainFile = (t: number) => `${iterationDir(t)}/dpo/train.jsonl`;
export const dpoHeldOutFile = (t: number) => `${iterationDir(t)}/dpo/heldout.jsonl`;
export const algorithmsDir = (t: number) => `${iterationDir(t)}/algorithms`;
export const algorithmFile = (t: number, id: string) => `${algorithmsDir(t)}/${id}.py`;
export const controlFile = (id: string) => `baselines/control/${id}.py`;
/** LLM runs: the raw completions of iteration t's control (the unrefined generator). */
export const controlCompletionsFile = (t: number) => `baselines/control/completions-${two(t)}.jsonl`;
/** Transfer to candidate set `set`: the re-tuned baseline grid and the chosen algorithms on its
 * dev split, then the chosen algorithms and the best re-tuned baseline on its test split, once. */
export const transferDevFile = (set: string) => `transfer/${set}/dev.jsonl`;
export const transferTestFile = (set: string) => `transfer/${set}/test.jsonl`;

/** The n-th algorithm of an iteration: a0001, a0002, ... */
export const algorithmId = (n: number) => `a${four(n)}`;
export const ALGORITHM_FILE = /^a\d+\.py$/;

/** The n-th random-program control program of iteration t: control-01-c0001. */
export const controlId = (t: number, n: number) => `control-${two(t)}-c${four(n)}`;
/** Whether a control id belongs to iteration t. */
export const isControlOf = (id: string, t: number) => id.startsWith(`control-${two(t)}-`);

/** Candidate model k (1-based) of the run's candidate list, scored as it is: candidate-1. */
export const candidateId = (k: number) => `candidate-${k}`;
/** candidate-2 -> 2; anything else -> undefined. */
export function candidateIndex(id: string): number | undefined {
  const m = /^candidate-(\d+)$/.exec(id);
  return m ? Number(m[1]) : undefined;
}

/** An algorithm across iterations: "2/a0007". */
export const algorithmRef = (t: number, id: string) => `${t}/${id}`;

export interface ParsedRef {
  iteration: number;
  id: string;
}

/** "2/a0007" -> {iteration: 2, id: "a0007"}; anything else -> undefined. */
export function parseAlgorithmRef(ref: string): ParsedRef | undefined {
  const m = /^(\d+)\/(a\d+)$/.exec(ref);
  return m ? { iteration: Number(m[1]), id: m[2] } : undefined;
}

/** The tag that marks a finished iteration. */
export const iterationTag = (t: number) => `iteration-${two(t)}`;
