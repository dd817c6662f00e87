// The factory's lineage: per finished iteration, the version that wrote it and what DPO on its
// pairs made of it (loss, reward accuracy, held-out margins, the weights' hash), or why the
// factory was not refined. The row of the iteration on screen is marked.
import type { FactoryStep } from '../../src/protocol/webviewMessages';
import { el } from './dom';
import { pct } from './format';

const num = (x: number | null | undefined, digits = 3) => (x === null || x === undefined || !Number.isFinite(x) ? '-' : x.toFixed(digits));

const signed = (x: number) => `${x >= 0 ? '+' : '−'}${Math.abs(x).toFixed(2)}`;

const STATUS: Record<FactoryStep['status'], string> = {
  refined: 'refined',
  deferred: 'deferred',
  disabled: 'not refined (off)',
  skipped: 'not refined (no pairs)',
  'not-refined': 'not refined',
};

export class LineageView {
  readonly root = el('section', { cls: 'lineage', attrs: { 'aria-label': 'Factory lineage' } });

  render(steps: readonly FactoryStep[], shown?: number): void {
    this.root.hidden = steps.length === 0;
    if (!steps.length) {
      this.root.replaceChildren();
      return;
    }
    const llm = steps.some((s) => s.kind === 'llm');
    const cols = ['iteration', 'written by', 'refinement', 'pairs used', 'DPO loss', 'reward accuracy', ...(llm ? ['held-out margin', 'weights'] : [])];
    const head = el('tr', {}, ...cols.map((h) => el('th', { text: h, attrs: { scope: 'col' } })));
    const rows = steps.map((s) => {
      const refined = s.status === 'refined';
      const cells = [
        el('td', { cls: 'num', text: String(s.iteration) }),
        el('td', { text: `v${s.wrote}` }),
        el('td', { text: refined ? `v${s.wrote} → v${s.version}` : STATUS[s.status], attrs: s.reason ? { title: s.reason } : {} }),
        el('td', { cls: 'num', text: `${s.pairsUsed} of ${s.pairs}` }),
        el('td', { cls: 'num', text: s.loss ? `${num(s.loss[0])} → ${num(s.loss[1])}` : '-' }),
        el('td', { cls: 'num', text: s.rewardAccuracy === null ? '-' : `${pct(s.rewardAccuracy)}${s.rewardMargin !== null ? ` (margin ${num(s.rewardMargin)})` : ''}` }),
      ];
      if (llm) {
        const h = s.heldOut;
        cells.push(
          el('td', {
            cls: 'num',
            text: h ? `${num(h.marginBefore, 2)} → ${num(h.marginAfter, 2)}${h.change ? ` (Δ ${signed(h.change.difference)} [${signed(h.change.low)}, ${signed(h.change.high)}])` : ''}; ${h.pairs} pairs, ${pct(h.rewardAccuracy)} right` : '-',
            attrs: { title: 'Mean log-probability margin, log π(chosen) − log π(rejected), on pairs held out of training: before and after refinement, with the paired 95% bootstrap interval of the change.' },
          }),
          el('td', { cls: 'mono', text: s.weights ?? '-' }),
        );
      }
      return el('tr', { cls: `lineage-${s.status}${s.iteration === shown ? ' lineage-shown' : ''}`, attrs: { 'data-iteration': String(s.iteration) } }, ...cells);
    });
    const notes = steps.filter((s) => s.reason && s.status !== 'refined').map((s) => el('li', { text: `Iteration ${s.iteration}: ${s.reason}` }));
    this.root.replaceChildren(
      el('h3', { text: 'Factory lineage: which version wrote each iteration, and what DPO on its pairs made of it' }),
      el('table', { cls: 'lineage-table' }, el('thead', {}, head), el('tbody', {}, ...rows)),
    );
    if (notes.length) this.root.append(el('ul', { cls: 'lineage-notes' }, ...notes));
  }
}
