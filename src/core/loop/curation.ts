// What a person does to a run between and during iterations: veto or un-veto an algorithm or
// a preference pair, and score an algorithm again after editing it (or as it is). Each is one
// commit, so the run's git log records who changed what and what the result was.
import { normaliseCode } from '../factory';
import { algorithmFile, pairsFile, resultsFile } from '../run/layout';
import { codeHash, type PairRecord, type ScoredRecord } from '../run/records';
import { writeVetoes } from '../run/vetoes';
import { fmt, type RunContext } from './context';
import type { Scorer } from './scorer';
import { writeSummary } from './summary';

/** What curation needs: the run, and a scorer for edits and re-evaluations. */
export type CurationContext = RunContext & { readonly scorer: Scorer };

export class CurationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CurationError';
  }
}

async function requireAlgorithm(loop: RunContext, t: number, id: string): Promise<string> {
  const source = await loop.files.read(algorithmFile(t, id));
  if (source === undefined) throw new CurationError(`run ${loop.header.id} has no algorithm ${t}/${id}`);
  return source;
}

/**
 * Vetoes (or, with undo, restores) an algorithm: it leaves the ranking, the summary, the
 * finalists and the preference pairs of every refinement from now on. Returns false when it
 * already was in that state (nothing committed).
 */
export async function setAlgorithmVeto(loop: RunContext, t: number, id: string, vetoed: boolean): Promise<boolean> {
  await requireAlgorithm(loop, t, id);
  const vetoes = await loop.files.vetoes();
  if (!vetoes.setAlgorithm(t, id, vetoed)) return false;
  await writeVetoes(loop.run, vetoes);
  await writeSummary(loop);
  const refined = await loop.files.refined(t);
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
/** Why a pair of a refined iteration cannot be vetoed any more, and what to do instead. */
export function pairLockedReason(t: number, pair: Pick<PairRecord, 'chosen' | 'rejected'>): string {
  return `iteration ${t} is already refined with these pairs; veto ${pair.chosen} or ${pair.rejected} to keep them out of later refinements`;
}

export async function setPairVeto(loop: RunContext, t: number, index: number, vetoed: boolean): Promise<PairRecord> {
  const pairs = await loop.files.pairs(t);
  const pair = pairs[index];
  if (!pair) throw new CurationError(`iteration ${t} of run ${loop.header.id} has no preference pair #${index + 1} (it has ${pairs.length})`);
  if (await loop.files.refined(t)) throw new CurationError(`${loop.header.id}: ${pairLockedReason(t, pair)}`);
  const vetoes = await loop.files.vetoes();
  if (vetoes.setPair(t, pair.chosen, pair.rejected, vetoed)) {
    await writeVetoes(loop.run, vetoes);
    pairs[index] = { ...pair, vetoed: vetoed || undefined };
    await loop.run.write(pairsFile(t), pairs.map((p) => JSON.stringify(p)).join('\n') + '\n');
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
export async function rescoreAlgorithm(loop: CurationContext, t: number, id: string, reason: 'edit' | 'reevaluate'): Promise<RescoreOutcome> {
  const source = await requireAlgorithm(loop, t, id);
  const previous = (await loop.files.results(t)).find((r) => r.id === id);
  const sample = (await loop.files.samples(t)).find((s) => s.id === id);
  const normalised = codeHash(normaliseCode(source));
  const hash = codeHash(normaliseCode(source) + '{}');
  if (reason === 'edit' && previous && previous.codeHash === hash) {
    return { record: previous, previous, message: `${id} is unchanged since it was scored`, scored: false };
  }
  const edited = sample ? normalised !== sample.codeHash : true;
  const scored = await loop.scorer.scoreNow(
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
  await loop.run.appendLine(resultsFile(t), JSON.stringify(record));
  await writeSummary(loop);
  const before = previous ? outcome(previous) : 'not scored';
  const message = `${reason === 'edit' ? 'edit' : 're-evaluate'} ${id}: ${before} -> ${outcome(record)}${t ? ` (iteration ${t})` : ''}`;
  await loop.commit(message);
  loop.emit({ type: 'scored', iteration: t, record, done: 1, total: 1 });
  return { record, previous, message, scored: true };
}

function outcome(r: ScoredRecord): string {
  return r.status === 'ok' ? fmt(r.score) : `failed (${r.errorClass ?? 'error'})`;
}
