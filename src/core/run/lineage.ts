// The factory's lineage as the run's factory.json files record it: per finished iteration, the
// version that wrote it, and how refinement on its pairs made the next version (or why not).
import type { FactoryStep } from '../../protocol/webviewMessages';
import { pairedDifference } from '../../stats';
import type { RunFiles } from './runFiles';

const pick = (d: { difference: number; low: number; high: number }) => ({ difference: d.difference, low: d.low, high: d.high });
const finiteOrNull = (x: number | null | undefined) => (typeof x === 'number' && Number.isFinite(x) ? x : null);

/** Each finished iteration's factory step, as factory.json records it. */
export async function factoryLineage(reader: RunFiles): Promise<FactoryStep[]> {
  const out: FactoryStep[] = [];
  const seed = (await reader.config())?.randomSeed ?? 0;
  // Each factory.json read once; the first missing one ends the finished iterations.
  for (let t = 1; ; t++) {
    const record = await reader.factoryRecord(t);
    if (!record) break;
    if (record.kind === 'llm') {
      const llm = record;
      const r = llm.refinement;
      const refined = r?.status === 'refined' ? r : undefined;
      const h = refined?.metrics.heldOut;
      out.push({
        iteration: t,
        kind: 'llm',
        wrote: llm.wrote,
        version: llm.version,
        status: r?.status ?? 'not-refined',
        ...(r && r.status !== 'refined' ? { reason: r.reason } : !r ? { reason: llm.note ?? 'not refined' } : {}),
        pairs: llm.pairs,
        pairsUsed: llm.pairsUsed,
        loss: refined ? [finiteOrNull(refined.metrics.train.lossFirst), finiteOrNull(refined.metrics.train.lossLast)] : null,
        rewardAccuracy: refined ? finiteOrNull(refined.metrics.train.rewardAccuracy) : null,
        rewardMargin: refined ? finiteOrNull(refined.metrics.train.rewardMargin) : null,
        heldOut: h
          ? {
              pairs: h.pairs,
              marginBefore: h.before.meanMargin,
              marginAfter: h.after.meanMargin,
              rewardAccuracy: h.after.rewardAccuracy,
              // How far refinement moved the held-out margins: paired over the same pairs.
              change: h.pairs && h.after.margins.length === h.before.margins.length ? pick(pairedDifference([h.after.margins], [h.before.margins], { seed })) : null,
            }
          : null,
        ...(refined ? { weights: refined.weights.hash.slice(0, 12) } : {}),
      });
      continue;
    }
    const g = record;
    out.push({
      iteration: t,
      kind: 'grammar',
      // Every grammar refinement makes a new version, with pairs or without.
      wrote: Math.max(0, g.version - 1),
      version: g.version,
      status: g.losses?.length ? 'refined' : 'skipped',
      ...(g.losses?.length ? {} : { reason: 'no preference pairs to train on' }),
      pairs: g.pairs,
      pairsUsed: g.pairsUsed,
      loss: g.losses?.length ? [finiteOrNull(g.losses[0]), finiteOrNull(g.losses.at(-1))] : null,
      rewardAccuracy: finiteOrNull(g.state?.refinement?.rewardAccuracyAfter),
      rewardMargin: null,
      heldOut: null,
    });
  }
  return out;
}
