// `selfdev status`, `iterate`, `finalize` and `demo` print a run's summary.json like this.
import type { Difference } from '../core/loop/comparisons';
import type { RunSummary } from '../core/loop/runLoop';
import type { TransferSummary } from '../core/loop/summary';
import { pct } from '../core/format';
import type { Run } from '../core/store/runStore';
import type { FactoryStep } from '../protocol/webviewMessages';

const ci = (iv: [number, number] | null | undefined) => (iv ? ` [${pct(iv[0])}, ${pct(iv[1])}]` : '');
const points = (x: number) => `${x >= 0 ? '+' : ''}${(100 * x).toFixed(1)}`;
const diff = (d: { difference: number; low: number; high: number }) => `${points(d.difference)} [${points(d.low)}, ${points(d.high)}] points`;
const pvalue = (p: number) => (p < 0.001 ? 'p < 0.001' : `p = ${p.toFixed(3)}`);

export function formatSummary(s: RunSummary, run: Run): string[] {
  const lines = [`run ${s.run}: branch ${run.branch}, worktree ${run.dir}`];
  lines.push(`  seed model:            ${pct(s.seed?.score)}${ci(s.seed?.interval)}`);
  lines.push(`  best tuned baseline:   ${s.bestBaseline ? `${pct(s.bestBaseline.score)}${ci(s.bestBaseline.interval)} (${s.bestBaseline.id})` : '-'}`);
  if (s.candidates.length) {
    lines.push(`  candidate models:      ${s.candidates.map((c) => `${c.id} ${pct(c.score)}`).join(', ')} (best ${s.bestCandidate ? `${pct(s.bestCandidate.score)}${ci(s.bestCandidate.interval)}` : '-'})`);
  }
  for (const it of s.iterations) {
    lines.push(
      `  iteration ${it.iteration} (T=${it.temperature.toFixed(3)}): best ${it.best ? `${pct(it.best.score)}${ci(it.best.interval)} (${it.best.id})` : '-'}, mean ${pct(it.meanScore)}, ${it.ok}/${it.algorithms} ran${it.complete ? '' : ', unfinished'}`,
    );
    const step = s.lineage?.find((x) => x.iteration === it.iteration);
    if (step) lines.push(`    ${factoryLine(step)}`);
    if (it.refinement) {
      const r = it.refinement;
      lines.push(`    vs control at the same T (mean ${pct(it.control.meanScore)}, ${it.control.ok}/${it.control.algorithms} ran): mean ${diff(r.mean)}, top ${r.top.k} ${diff(r.top)}`);
    }
  }
  lines.push(`  random control:        best ${s.control.best ? `${pct(s.control.best.score)}${ci(s.control.best.interval)}` : '-'}, mean ${pct(s.control.meanScore)} over ${s.control.ok}/${s.control.algorithms}`);
  const t = s.sealedTest;
  if (t) {
    lines.push(`  sealed test (${t.evaluations} evaluations, once):`);
    for (const f of t.references) lines.push(`    ${f.id}: test ${pct(f.test)}${ci(f.interval)} (${f.dev ?? ''})`);
    for (const f of t.finalists) lines.push(`    ${f.id}: test ${pct(f.test)}${ci(f.interval)} (${f.dev ?? ''})`);
    for (const f of t.control) lines.push(`    ${f.id}: test ${pct(f.test)}${ci(f.interval)} (control, ${f.dev ?? ''})`);
    const c = t.comparisons;
    if (c) {
      const items = Object.entries(c.items).map(([b, n]) => `${b} ${n}`).join(', ');
      lines.push(`  paired comparisons on the sealed test (${c.count} comparisons; items: ${items}; 95% paired bootstrap, sign-flip p, Holm-adjusted):`);
      for (const x of c.list) {
        const per = Object.entries(x.benchmarks).map(([b, d]: [string, Difference]) => `${b} ${points(d.difference)}`).join(', ');
        lines.push(`    ${x.question} (${x.a} vs ${x.b}): ${diff(x.overall)}, ${pvalue(x.overall.p)}, Holm ${pvalue(x.overall.pHolm)}; ${per}`);
      }
    }
  }
  for (const t of s.transfer) lines.push(...formatTransfer(t).map((l) => `  ${l}`));
  lines.push('  (scores: mean dev accuracy over the benchmarks; intervals: 95% bootstrap)');
  return lines;
}

/** One candidate set of `selfdev transfer`: each algorithm and the re-tuned baseline on its test split. */
export function formatTransfer(t: TransferSummary): string[] {
  const score = (e: { status: string; test: number | null; interval: [number, number] | null; dev: string | null }) =>
    e.status === 'ok' ? `${pct(e.test)} on test${ci(e.interval)} (${e.dev ?? ''})` : 'failed';
  const lines = t.algorithms.map((a) => `${a.id} on "${t.set}": ${score(a)}${a.vsRetuned ? `; vs the re-tuned baseline ${diff(a.vsRetuned)}, ${pvalue(a.vsRetuned.p)}` : ''}`);
  lines.push(`re-tuned baseline on "${t.set}" (best of the grid on its dev split): ${t.retuned ? `${t.retuned.id}: ${score(t.retuned)}` : '-'}`);
  return lines;
}

/** "factory v0 -> v1 by DPO on 9 of 12 pairs: loss 0.693 -> 0.412, reward accuracy 87.5%; held-out margin -4.20 -> 1.30 (+5.50 [+3.10, +7.90], 3 pairs)". */
export function factoryLine(s: FactoryStep): string {
  if (s.status !== 'refined') return `factory v${s.wrote}, not refined${s.status === 'deferred' ? ' yet' : ''}: ${s.reason ?? s.status}`;
  const n = (x: number | null | undefined, d = 3) => (x === null || x === undefined ? '-' : x.toFixed(d));
  const sgn = (x: number) => `${x >= 0 ? '+' : ''}${x.toFixed(2)}`;
  const h = s.heldOut;
  const held = h ? `; held-out margin ${n(h.marginBefore, 2)} -> ${n(h.marginAfter, 2)}${h.change ? ` (${sgn(h.change.difference)} [${sgn(h.change.low)}, ${sgn(h.change.high)}])` : ''}, ${h.pairs} pairs, ${pct(h.rewardAccuracy)} ranked right` : '';
  return `factory v${s.wrote} -> v${s.version} by DPO on ${s.pairsUsed} of ${s.pairs} pairs: loss ${n(s.loss?.[0])} -> ${n(s.loss?.[1])}, reward accuracy ${pct(s.rewardAccuracy)}${held}`;
}
