// The paired comparisons on the sealed test split, once a run is finalized: one compact table
// (what is compared, the difference in points with its 95% paired interval, the p-value and its
// Holm adjustment over the family), beside the charts.
import type { IterationData, RunOverview } from '../../src/protocol/webviewMessages';
import { el } from './dom';
import { pct, points } from './format';

const pvalue = (p: number) => (p < 0.001 ? '< 0.001' : p.toFixed(3));

export class ComparisonsView {
  readonly root = el('section', { cls: 'comparisons', attrs: { 'aria-label': 'Paired comparisons on the sealed test split' } });

  render(c: RunOverview['comparisons']): void {
    this.root.hidden = !c || c.rows.length === 0;
    if (!c || c.rows.length === 0) {
      this.root.replaceChildren();
      return;
    }
    const head = el('tr', {}, ...['comparison', 'a − b', '95% paired interval', 'p', 'Holm p'].map((h) => el('th', { text: h, attrs: { scope: 'col' } })));
    const rows = c.rows.map((r) =>
      el(
        'tr',
        { cls: r.low > 0 ? 'cmp-better' : r.high < 0 ? 'cmp-worse' : 'cmp-unclear', attrs: { 'data-question': r.question } },
        el('td', { text: `${r.question} (${r.a} vs ${r.b})` }),
        el('td', { cls: 'num', text: points(r.difference) }),
        el('td', { cls: 'num', text: `${points(r.low)} to ${points(r.high)}` }),
        el('td', { cls: 'num', text: pvalue(r.p) }),
        el('td', { cls: 'num', text: pvalue(r.pHolm) }),
      ),
    );
    this.root.replaceChildren(
      el('h3', { text: `Sealed test: ${c.count} paired comparisons` }),
      el('table', { cls: 'cmp-table' }, el('thead', {}, head), el('tbody', {}, ...rows)),
    );
  }
}

/** Test scores after `selfdev transfer`: algorithms (and each set's re-tuned baselines) x sets. */
export class TransferView {
  readonly root = el('section', { cls: 'transfer', attrs: { 'aria-label': 'Transfer to other candidate sets' } });

  render(t: RunOverview['transfer']): void {
    this.root.hidden = !t;
    if (!t) {
      this.root.replaceChildren();
      return;
    }
    const head = el('tr', {}, el('th', { text: 'test split of', attrs: { scope: 'col' } }), ...t.sets.map((s) => el('th', { cls: 'num', text: s, attrs: { scope: 'col' } })));
    const rows = t.rows.map((r) => el('tr', { attrs: { 'data-id': r.id } }, el('td', { text: r.id }), ...r.cells.map((c) => el('td', { cls: 'num', text: pct(c) }))));
    this.root.replaceChildren(
      el('h3', { text: 'Transfer: each algorithm against the baselines re-tuned on the set' }),
      el('table', { cls: 'cmp-table transfer-table' }, el('thead', {}, head), el('tbody', {}, ...rows)),
    );
  }
}

/** "Does refinement help": this iteration's programs against the control's at the same temperature. */
export function refinementText(r: IterationData['refinement'], control = 'the random-program control'): string {
  if (!r) return '';
  const d = (x: { difference: number; low: number; high: number }) => `${points(x.difference)} [${points(x.low)}, ${points(x.high)}]`;
  return `Factory against ${control} at the same temperature: mean ${d(r.mean)}; best ${r.top.k} ${d(r.top)}.`;
}
