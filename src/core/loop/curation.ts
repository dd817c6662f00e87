// What a person does to a run between and during iterations: veto or un-veto an algorithm or
// a preference pair, and score an algorithm again after editing it (or as it is). Each is one
// commit, so the run's git log records who changed what and what the result was.
import { normaliseCode } from '../factory';
import { codeHash, iterationDir, type PairRecord, type SampleRecord, type ScoredRecord } from './records';
import { fmt, type RunLoop } from './runLoop';

export class CurationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CurationError';
  }
}

const algorithmFile = (t: number, id: string) => `${iterationDir(t)}/algorithms/${id}.py`;

async function requireAlgorithm(loop: RunLoop, t: number, id: string): Promise<string> {
  const source = await loop.run.read(algorithmFile(t, id));
  if (source === undefined) throw new CurationError(`run ${loop.header.id} has no algorithm ${t}/${id}`);
  return source;
}

/**
 * Vetoes (or, with undo, restores) an algorithm: it leaves the ranking, the summary, the
 * finalists and the preference pairs of every refinement from now on. Returns false when it
 * already was in that state (nothing committed).
 */
export async function setAlgorithmVeto(loop: RunLoop, t: number, id: string, vetoed: boolean): Promise<boolean> {
  await requireAlgorithm(loop, t, id);
  const vetoes = await loop.vetoes();
  if (!vetoes.setAlgorithm(t, id, vetoed)) return false;
  await loop.writeVetoes(vetoes);
  await loop.writeSummary();
  const refined = Boolean(await loop.run.read(`${iterationDir(t)}/factory.json`));
  await loop.commit(
    vetoed
      ? `veto ${t}/${id}${refined ? ' (left out of later refinement)' : ''}`
      : `undo veto of ${t}/${id}`,
  );
  return true;
}

/**
 * Vetoes (or restores) one preference pair of iteration t. Only before that iteration's
 * refinement: afterwards the pair has been used, and vetoing an algorithm is what keeps it out of
 * later refinements.
 */
export async function setPairVeto(loop: RunLoop, t: number, index: number, vetoed: boolean): Promise<PairRecord> {
  const pairs = await loop.records<PairRecord>(`${iterationDir(t)}/pairs.jsonl`);
  const pair = pairs[index];
  if (!pair) throw new CurationError(`iteration ${t} of run ${loop.header.id} has no preference pair #${index + 1} (it has ${pairs.length})`);
  if (await loop.run.read(`${iterationDir(t)}/factory.json`)) {
    throw new CurationError(
      `iteration ${t} of run ${loop.header.id} is already refined with these pairs; veto ${pair.chosen} or ${pair.rejected} to keep them out of later refinements`,
    );
  }
  const vetoes = await loop.vetoes();
  if (vetoes.setPair(t, pair.chosen, pair.rejected, vetoed)) {
    await loop.writeVetoes(vetoes);
    pairs[index] = { ...pair, vetoed: vetoed || undefined };
    await loop.run.write(`${iterationDir(t)}/pairs.jsonl`, pairs.map((p) => JSON.stringify(p)).join('\n') + '\n');
    await loop.commit(`${vetoed ? 'veto' : 'undo veto of'} pair ${pair.chosen} > ${pair.rejected} of iteration ${t}`);
  }
  return pairs[index];
}

export interface RescoreOutcome {
  record: ScoredRecord;
  previous?: ScoredRecord;
  /** The commit message (the commit holds the code and its new result together). */
  message: string;
  /** False when the code was unchanged and an edit was asked for: nothing was scored. */
  scored: boolean;
}

/**
 * Scores algorithm t/id again as its file now reads, appends the new record (the earlier one
 * stays in results.jsonl and in git as history) and commits the code and the result together:
 * "edit a0007: 0.410 -> 0.470". `reason` 'edit' skips code that is unchanged since its last
 * result; 'reevaluate' always evaluates afresh.
 */
export async function rescoreAlgorithm(loop: RunLoop, t: number, id: string, reason: 'edit' | 'reevaluate'): Promise<RescoreOutcome> {
  const source = await requireAlgorithm(loop, t, id);
  const previous = (await loop.results(t)).find((r) => r.id === id);
  const sample = (await loop.records<SampleRecord>(`${iterationDir(t)}/samples.jsonl`)).find((s) => s.id === id);
  const normalised = codeHash(normaliseCode(source));
  const hash = codeHash(normaliseCode(source) + '{}');
  if (reason === 'edit' && previous && previous.codeHash === hash) {
    return { record: previous, previous, message: `${id} is unchanged since it was scored`, scored: false };
  }
  const edited = sample ? normalised !== sample.codeHash : true;
  const scored = await loop.scoreNow(
    t,
    {
      id,
      file: algorithmFile(t, id),
      source,
      extra: {
        kind: 'generated',
        factoryVersion: previous?.factoryVersion,
        temperature: previous?.temperature,
        summary: sample?.summary ?? previous?.summary,
      },
    },
    reason === 'reevaluate',
  );
  const record: ScoredRecord = {
    ...scored,
    ...(edited ? { edited: true } : { edited: undefined }),
    rescored: { at: new Date().toISOString(), reason, previousScore: previous?.status === 'ok' ? previous.score! : null, previousStatus: previous?.status ?? 'failed' },
  };
  await loop.run.appendLine(`${iterationDir(t)}/results.jsonl`, JSON.stringify(record));
  await loop.writeSummary();
  const before = previous ? outcome(previous) : 'not scored';
  const message = `${reason === 'edit' ? 'edit' : 're-evaluate'} ${id}: ${before} -> ${outcome(record)}${t ? ` (iteration ${t})` : ''}`;
  await loop.commit(message);
  loop.emit({ type: 'scored', iteration: t, record, done: 1, total: 1 });
  return { record, previous, message, scored: true };
}

function outcome(r: ScoredRecord): string {
  return r.status === 'ok' ? fmt(r.score) : `failed (${r.errorClass ?? 'error'})`;
}
