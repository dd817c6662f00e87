// The paired comparisons on the sealed test split, once a run is finalized: one compact table
// (what is compared, the difference in points with its 95% paired interval, the p-value and its
// Holm adjustment over the family), beside the charts.
import type { RunOverview } from '../../src/protocol/webviewMessages';
import { el } from './dom';
import { points } from './format';

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
