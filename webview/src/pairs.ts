// The iteration's preference pairs (chosen vs rejected, for DPO) and, for the selected one,
// both programs side by side.
import type { PairDetail, PairRow, PairSide } from '../../src/protocol/webviewMessages';
import { el, loadingNote } from './dom';
import { pct, points } from './format';
import { button, setDisabled } from './header';
import { codeBlock } from './detail';

export interface PairsCallbacks {
  /** `pointer`: clicked (the pair is brought into view); `keyboard`: stepped with the arrows. */
  select(index: number, how: 'pointer' | 'keyboard'): void;
  veto(index: number, undo: boolean): void;
  /** Open an algorithm by its `iteration/id` reference. */
  openRef(ref: string): void;
}

/** A control that cannot be used, and why, disabled with the reason as its tooltip. */
function lockable(control: HTMLElement, reason: string | undefined): HTMLElement {
  if (reason) setDisabled(control, true);
  return control;
}

export class PairsView {
  readonly root = el('div', { cls: 'pairs' });
  private readonly count = el('p', { cls: 'pairs-count' });
  private readonly list = el('div', { cls: 'pair-list', attrs: { role: 'listbox', tabindex: '0', 'aria-label': 'Preference pairs' } });
  private readonly detail = el('div', { cls: 'pair-detail', attrs: { 'aria-live': 'polite' } });
  private pairs: PairRow[] = [];
  private selected: number | undefined;
  /** The list is built only while its tab is shown: most of the time nobody looks at it. */
  private dirty = false;
  private visible = false;

  constructor(private readonly cb: PairsCallbacks) {
    this.list.addEventListener('click', (e) => {
      const target = e.target as HTMLElement;
      const link = target.closest<HTMLElement>('a.pair-ref');
      if (link?.dataset.ref) {
        e.preventDefault();
        this.cb.openRef(link.dataset.ref);
        return;
      }
      const row = target.closest<HTMLElement>('.pair');
      if (row?.dataset.index !== undefined) this.choose(Number(row.dataset.index), 'pointer');
    });
    this.list.addEventListener('keydown', (e) => {
      if (e.key !== 'ArrowDown' && e.key !== 'ArrowUp') return;
      e.preventDefault();
      if (this.pairs.length === 0) return;
      const pos = this.pairs.findIndex((p) => p.index === this.selected);
      const next = Math.max(0, Math.min(this.pairs.length - 1, pos < 0 ? 0 : pos + (e.key === 'ArrowDown' ? 1 : -1)));
      this.choose(this.pairs[next].index, 'keyboard');
      this.list.querySelector(`.pair[data-index="${this.pairs[next].index}"]`)?.scrollIntoView({ block: 'nearest' });
    });
    this.clearDetail();
    this.root.append(this.count, this.list, this.detail);
  }

  setPairs(pairs: PairRow[], selected: number | undefined): void {
    this.pairs = pairs;
    this.selected = selected;
    this.count.textContent =
      pairs.length === 0 ? 'No preference pairs in this iteration (they are recorded when the iteration is refined).' : `${pairs.length} preference pairs: the chosen program is preferred over the rejected one.`;
    this.dirty = true;
    if (this.visible) this.renderList();
    if (selected === undefined || !pairs.some((p) => p.index === selected)) this.clearDetail();
  }

  setVisible(v: boolean): void {
    this.visible = v;
    if (v && this.dirty) this.renderList();
  }

  setSelected(index: number | undefined): void {
    this.selected = index;
    for (const row of this.list.querySelectorAll<HTMLElement>('.pair')) {
      const on = Number(row.dataset.index) === index;
      row.classList.toggle('is-selected', on);
      row.setAttribute('aria-selected', String(on));
    }
  }

  clearDetail(): void {
    delete this.detail.dataset.index;
    this.detail.replaceChildren(el('p', { cls: 'detail-placeholder', text: 'Select a pair to compare the chosen and the rejected program.' }));
  }

  loading(index: number): void {
    this.detail.dataset.index = String(index);
    this.detail.replaceChildren(loadingNote());
  }

  error(message: string): void {
    this.detail.replaceChildren(el('p', { cls: 'detail-problem', text: message }));
  }

  show(p: PairDetail): void {
    this.detail.dataset.index = String(p.index);
    const side = (cls: 'chosen' | 'rejected', title: string, s: PairSide) =>
      el(
        'section',
        { cls: `pair-side ${cls}` },
        el('h3', {}, el('span', { cls: 'side-label', text: title }), el('span', { cls: 'side-ref', text: s.ref }), el('span', { cls: 'side-score', text: s.score === null ? 'failed' : pct(s.score) })),
        codeBlock(s.code),
      );
    this.detail.replaceChildren(
      el(
        'div',
        { cls: 'pair-detail-head' },
        el('h2', { text: `Pair ${p.index + 1}` }, p.vetoed ? el('span', { cls: 'tag tag-vetoed', text: 'vetoed' }) : null),
        el('p', { cls: 'detail-facts', text: `${p.margin === null ? 'the rejected program failed' : `margin ${points(p.margin)}`} · ${p.why}` }),
        lockable(
          button(p.vetoed ? 'Undo Veto' : 'Veto Pair', () => this.cb.veto(p.index, p.vetoed), {
            appearance: 'secondary',
            data: { action: 'veto-pair' },
            title: p.vetoLocked ?? (p.vetoed ? 'Use this pair for refinement again' : 'Leave this pair out of the DPO refinement'),
          }),
          p.vetoLocked,
        ),
        p.vetoLocked ? el('p', { cls: 'pair-locked', text: `${p.vetoLocked.charAt(0).toUpperCase()}${p.vetoLocked.slice(1)}.`, attrs: { role: 'note' } }) : null,
      ),
      el('div', { cls: 'pair-sides' }, side('chosen', 'Chosen', p.chosen), side('rejected', 'Rejected', p.rejected)),
    );
  }

  /** The selected pair's side-by-side view. */
  get detailRoot(): HTMLElement {
    return this.detail;
  }

  /** Shows a veto or restore failure (from the extension) beside the pair's control. */
  actionFailed(message: string): void {
    const head = this.detail.querySelector('.pair-detail-head');
    if (!head) return;
    head.querySelector('.pair-action-error')?.remove();
    head.append(el('p', { cls: 'pair-action-error', text: message, attrs: { role: 'alert' } }));
  }

  private choose(index: number, how: 'pointer' | 'keyboard'): void {
    if (index === this.selected) return;
    this.setSelected(index);
    this.cb.select(index, how);
  }

  private renderList(): void {
    this.dirty = false;
    const head = el(
      'div',
      { cls: 'pair pair-head', attrs: { role: 'presentation' } },
      ...['#', 'Chosen', 'Score', '', 'Rejected', 'Score', 'Margin', 'Why', ''].map((t) => el('span', { text: t })),
    );
    const ref = (r: string) => el('a', { cls: 'pair-ref', text: r, attrs: { href: '#', title: `Open ${r}` }, data: { ref: r } });
    const rows = this.pairs.map((p) => {
      const on = p.index === this.selected;
      return el(
        'div',
        { cls: `pair${p.vetoed ? ' is-vetoed' : ''}${on ? ' is-selected' : ''}`, attrs: { role: 'option', 'aria-selected': String(on) }, data: { index: String(p.index) } },
        // People count pairs from 1; data-index keeps the file's position.
        el('span', { cls: 'pair-index', text: String(p.index + 1) }),
        el('span', { cls: 'pair-chosen' }, ref(p.chosen)),
        el('span', { cls: 'pair-chosen-score numeric', text: pct(p.chosenScore) }),
        el('span', { cls: 'pair-vs', text: '≻', attrs: { title: 'preferred over' } }),
        el('span', { cls: 'pair-rejected' }, ref(p.rejected)),
        el('span', { cls: `pair-rejected-score numeric${p.rejectedScore === null ? ' is-failed' : ''}`, text: p.rejectedScore === null ? 'failed' : pct(p.rejectedScore) }),
        el('span', { cls: 'pair-margin numeric', text: p.margin === null ? '—' : points(p.margin) }),
        el('span', { cls: 'pair-why', text: p.why, attrs: { title: p.why } }),
        el('span', { cls: 'pair-flags' }, p.vetoed ? el('span', { cls: 'tag tag-vetoed', text: 'vetoed' }) : null),
      );
    });
    this.list.replaceChildren(head, ...rows);
  }
}
