// The iteration's algorithms as a sortable, filterable table that stays fluid at thousands of
// rows: rows have a fixed height and only the visible ones (plus an overscan) exist in the DOM,
// recycled from a small pool as the container scrolls.
import type { AlgorithmRow } from '../../src/protocol/webviewMessages';
import { custom, el } from './dom';
import { interval, pct, temperature } from './format';
import { defaultDir, STATUS_FILTERS, viewRows, type SortKey, type StatusFilter } from './tableModel';
import type { PanelState } from './vscodeApi';

export const ROW_HEIGHT = 24;
const HEAD_HEIGHT = 26;
/** Rows rendered beyond each edge of the viewport (keyboard paging and small scrolls stay painted). */
const OVERSCAN = 6;

const COLUMNS: { key: SortKey; label: string; title: string; numeric?: boolean }[] = [
  { key: 'id', label: 'Id', title: 'Algorithm id (click to open its file)' },
  { key: 'status', label: 'Status', title: 'Scored, failed or still pending' },
  { key: 'score', label: 'Score', title: 'Dev accuracy', numeric: true },
  { key: 'interval', label: '95% interval', title: 'Bootstrap interval of the dev accuracy, in percent', numeric: true },
  { key: 'errorClass', label: 'Error', title: 'Failure class' },
  { key: 'factoryVersion', label: 'Factory', title: 'Version of the algorithm factory that wrote it', numeric: true },
  { key: 'temperature', label: 'Temp.', title: 'Sampling temperature', numeric: true },
  { key: 'summary', label: 'Summary', title: 'What the program does' },
];

const STATUS_LABEL: Record<StatusFilter, string> = {
  all: 'All statuses',
  ok: 'Scored',
  failed: 'Failed',
  pending: 'Pending',
  vetoed: 'Vetoed',
  edited: 'Edited',
};

const STATUS_ICON = { ok: '✓', failed: '✕', pending: '◌' } as const;

interface RowView {
  root: HTMLDivElement;
  open: HTMLAnchorElement;
  star: HTMLSpanElement;
  statusIcon: HTMLSpanElement;
  statusText: HTMLSpanElement;
  vetoed: HTMLSpanElement;
  edited: HTMLSpanElement;
  reused: HTMLSpanElement;
  score: HTMLDivElement;
  interval: HTMLDivElement;
  error: HTMLDivElement;
  factory: HTMLDivElement;
  temp: HTMLDivElement;
  summary: HTMLDivElement;
  index: number;
  data: AlgorithmRow | null;
}

export interface TableCallbacks {
  /** `pointer`: clicked (the detail is brought into view); `keyboard`: stepped with the arrows. */
  select(id: string, how: 'pointer' | 'keyboard'): void;
  open(id: string): void;
  /** Sort, filter or scroll changed: save the view. */
  viewChanged(): void;
}

export class AlgorithmTable {
  readonly root = el('div', { cls: 'algo-section' });
  private readonly filter = custom('vscode-text-field', { cls: 'algo-filter', attrs: { placeholder: 'Filter by id, summary or error', 'aria-label': 'Filter algorithms' } }) as HTMLElement & {
    value: string;
  };
  private readonly statusFilter = custom('vscode-dropdown', { cls: 'algo-status-filter', attrs: { 'aria-label': 'Status filter' } }) as HTMLElement & { value: string };
  private readonly countText = el('span', { cls: 'algo-count', attrs: { 'aria-live': 'polite' } });
  private readonly table = el('div', { cls: 'algo-table', attrs: { role: 'grid', tabindex: '0', 'aria-label': 'Algorithms of the iteration', 'aria-multiselectable': 'false' } });
  private readonly head = el('div', { cls: 'algo-head algo-grid', attrs: { role: 'row', 'aria-rowindex': '1' } });
  private readonly body = el('div', { cls: 'algo-body', attrs: { role: 'rowgroup' } });
  private readonly empty = el('div', { cls: 'algo-empty' });
  private readonly pool: RowView[] = [];
  private rows: readonly AlgorithmRow[] = [];
  private shown: AlgorithmRow[] = [];
  private indexOf = new Map<string, number>();
  private selected: string | undefined;
  private frame = 0;
  // Geometry is cached (scroll events and a ResizeObserver keep it current) so that rendering
  // never reads layout after writing the DOM: one layout per frame even at 3000 rows.
  private top = 0;
  private viewH = 0;

  constructor(
    private readonly view: PanelState,
    private readonly cb: TableCallbacks,
  ) {
    this.filter.setAttribute('value', view.filter);
    this.filter.addEventListener('input', () => {
      if (this.filter.value === this.view.filter) return;
      this.view.filter = this.filter.value;
      this.filtered();
    });
    for (const f of STATUS_FILTERS) {
      const opt = custom('vscode-option', { text: STATUS_LABEL[f], attrs: { value: f } });
      if (f === view.statusFilter) opt.setAttribute('selected', '');
      this.statusFilter.append(opt);
    }
    this.statusFilter.addEventListener('change', () => {
      const v = this.statusFilter.value as StatusFilter;
      if (!(STATUS_FILTERS as readonly string[]).includes(v) || v === this.view.statusFilter) return;
      this.view.statusFilter = v;
      this.filtered();
    });

    for (const c of COLUMNS) {
      const th = el('div', { cls: `algo-th col-${c.key}${c.numeric ? ' numeric' : ''}`, attrs: { role: 'columnheader' }, data: { sort: c.key } });
      const b = el('button', { cls: 'sort-button', attrs: { type: 'button', title: `${c.title}. Click to sort.` } }, el('span', { text: c.label }), el('span', { cls: 'sort-arrow', attrs: { 'aria-hidden': 'true' } }));
      b.addEventListener('click', () => this.sortBy(c.key));
      th.append(b);
      this.head.append(th);
    }
    this.empty.hidden = true;
    this.table.append(this.head, this.body, this.empty);
    this.root.append(el('div', { cls: 'algo-toolbar' }, this.filter, this.statusFilter, this.countText), this.table);

    this.head.style.height = `${HEAD_HEIGHT}px`;
    this.table.addEventListener('scroll', () => this.schedule(), { passive: true });
    this.table.addEventListener('keydown', (e) => this.onKey(e));
    this.body.addEventListener('click', (e) => {
      const target = e.target as HTMLElement;
      const rowEl = target.closest<HTMLElement>('.algo-row');
      const id = rowEl?.dataset.id;
      if (!id) return;
      if (target.closest('a.algo-open')) {
        e.preventDefault();
        this.cb.open(id);
      }
      this.choose(id, 'pointer');
    });
    // Visible rows depend on the container's size (panel resize, tab shown again).
    new ResizeObserver((entries) => {
      this.viewH = entries[0]?.contentRect.height ?? this.table.clientHeight;
      this.renderVisible();
    }).observe(this.table);
    this.updateHeader();
  }

  get scrollTop(): number {
    return this.top;
  }

  /** New rows (another iteration, or the same one re-read): keep, reset or restore the scroll. */
  setRows(rows: readonly AlgorithmRow[], scroll: 'keep' | 'top' | number): void {
    // Scrolling to the top first, while layout is still clean, costs no extra layout.
    if (scroll === 'top' && this.top !== 0) this.scrollTo(0);
    this.rows = rows;
    this.recompute();
    if (typeof scroll === 'number') {
      if (this.viewH === 0) this.viewH = this.table.clientHeight;
      this.scrollTo(Math.max(0, Math.min(scroll, HEAD_HEIGHT + this.shown.length * ROW_HEIGHT - this.viewH)));
    }
    this.renderVisible();
  }

  /** Marks the selected row; rows are not rebuilt for that. */
  setSelected(id: string | undefined): void {
    this.selected = id;
    for (const rv of this.pool) {
      if (!rv.data) continue;
      const on = rv.data.id === id;
      rv.root.classList.toggle('is-selected', on);
      rv.root.setAttribute('aria-selected', String(on));
    }
  }

  private scrollTo(top: number): void {
    this.table.scrollTop = top;
    this.top = top;
  }

  /** A filter changed: back to the top of the new view, which is saved. */
  private filtered(): void {
    this.scrollTo(0);
    this.refresh();
    this.cb.viewChanged();
  }

  /** Re-sort and re-filter after a change of sort key, direction or filters. */
  refresh(): void {
    this.recompute();
    this.renderVisible(true);
  }

  focus(): void {
    this.table.focus({ preventScroll: true });
  }

  rowById(id: string): AlgorithmRow | undefined {
    return this.rows.find((r) => r.id === id);
  }

  private sortBy(key: SortKey): void {
    if (this.view.sortKey === key) this.view.sortDir = this.view.sortDir === 'asc' ? 'desc' : 'asc';
    else {
      this.view.sortKey = key;
      this.view.sortDir = defaultDir(key);
    }
    this.updateHeader();
    this.refresh();
    this.cb.viewChanged();
  }

  private updateHeader(): void {
    for (const th of this.head.children as HTMLCollectionOf<HTMLElement>) {
      const active = th.dataset.sort === this.view.sortKey;
      th.setAttribute('aria-sort', active ? (this.view.sortDir === 'asc' ? 'ascending' : 'descending') : 'none');
      th.classList.toggle('sorted', active);
      th.querySelector('.sort-arrow')!.textContent = active ? (this.view.sortDir === 'asc' ? '▲' : '▼') : '';
    }
  }

  private recompute(): void {
    this.shown = viewRows(this.rows, this.view);
    this.indexOf = new Map(this.shown.map((r, i) => [r.id, i]));
    this.body.style.height = `${this.shown.length * ROW_HEIGHT}px`;
    this.table.setAttribute('aria-rowcount', String(this.shown.length + 1));
    this.countText.textContent =
      this.shown.length === this.rows.length ? `${this.rows.length} algorithms` : `${this.rows.length} algorithms, ${this.shown.length} shown`;
    this.empty.hidden = this.shown.length > 0;
    this.empty.textContent = this.rows.length === 0 ? 'No algorithms in this iteration yet.' : 'No algorithm matches the filter.';
  }

  private schedule(): void {
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      this.top = this.table.scrollTop;
      this.renderVisible();
      this.cb.viewChanged();
    });
  }

  /**
   * Places pooled row elements over the visible range. A row still in range keeps its element
   * untouched (a small scroll refills only the rows coming into view); elements that left the
   * range are reused, in DOM order by index so that assistive technology reads them in order.
   * `force` refills the kept rows too (selection or sort changed).
   */
  private renderVisible(force = false): void {
    if (this.viewH === 0 && this.table.isConnected) this.viewH = this.table.clientHeight;
    const top = Math.max(0, this.top - HEAD_HEIGHT);
    const n = this.shown.length;
    const start = Math.max(0, Math.floor(top / ROW_HEIGHT) - OVERSCAN);
    const end = this.viewH > 0 ? Math.min(n, Math.ceil((top + this.viewH) / ROW_HEIGHT) + OVERSCAN) : Math.min(n, start + OVERSCAN);
    const kept = new Map<number, RowView>();
    const free: RowView[] = [];
    for (const rv of this.pool) {
      if (rv.data && rv.index >= start && rv.index < end && this.shown[rv.index] === rv.data && !kept.has(rv.index)) kept.set(rv.index, rv);
      else free.push(rv);
    }
    // Kept rows are already in DOM order; each new row goes before the next kept one.
    const keptInOrder = [...kept.values()].sort((x, y) => x.index - y.index);
    let next = 0;
    for (let i = start; i < end; i++) {
      const k = kept.get(i);
      if (k) {
        next++;
        if (force) this.fillRow(k, this.shown[i], i);
        continue;
      }
      let rv = free.pop();
      if (!rv) {
        rv = this.createRow();
        this.pool.push(rv);
      }
      this.fillRow(rv, this.shown[i], i);
      const before = keptInOrder[next];
      if (before) this.body.insertBefore(rv.root, before.root);
      else this.body.append(rv.root);
    }
    for (const rv of free) {
      if (rv.root.isConnected) rv.root.remove();
      rv.data = null;
      rv.index = -1;
    }
  }

  private createRow(): RowView {
    const cell = (cls: string) => el('div', { cls: `algo-cell ${cls}`, attrs: { role: 'gridcell' } });
    const root = el('div', { cls: 'algo-row algo-grid', attrs: { role: 'row' } });
    root.style.height = `${ROW_HEIGHT}px`;
    const open = el('a', { cls: 'algo-open', attrs: { href: '#', title: 'Open the algorithm file' } });
    const star = el('span', { cls: 'marker-best', text: '★', attrs: { title: 'Best of the iteration', 'aria-label': 'best' } });
    const idCell = cell('col-id');
    idCell.append(open, star);
    const statusIcon = el('span', { cls: 'status-icon', attrs: { 'aria-hidden': 'true' } });
    const statusText = el('span', { cls: 'status-text' });
    const vetoed = el('span', { cls: 'tag tag-vetoed', text: 'vetoed', attrs: { title: 'Vetoed: left out of pairs and bests' } });
    const edited = el('span', { cls: 'tag tag-edited', text: 'edited', attrs: { title: 'Edited by a person after generation (re-scored since)' } });
    const reused = el('span', { cls: 'tag tag-reused', text: 'reused' });
    const statusCell = cell('col-status');
    statusCell.append(statusIcon, statusText, vetoed, edited, reused);
    const rv: RowView = {
      root,
      open,
      star,
      statusIcon,
      statusText,
      vetoed,
      edited,
      reused,
      score: cell('col-score numeric'),
      interval: cell('col-interval numeric'),
      error: cell('col-errorClass'),
      factory: cell('col-factoryVersion numeric'),
      temp: cell('col-temperature numeric'),
      summary: cell('col-summary'),
      index: -1,
      data: null,
    };
    root.append(idCell, statusCell, rv.score, rv.interval, rv.error, rv.factory, rv.temp, rv.summary);
    return rv;
  }

  private fillRow(rv: RowView, row: AlgorithmRow, i: number): void {
    rv.data = row;
    rv.index = i;
    const r = rv.root;
    r.dataset.id = row.id;
    r.style.transform = `translateY(${i * ROW_HEIGHT}px)`;
    r.setAttribute('aria-rowindex', String(i + 2));
    const selected = row.id === this.selected;
    r.setAttribute('aria-selected', String(selected));
    r.className = `algo-row algo-grid status-${row.status}${row.best ? ' is-best' : ''}${row.vetoed ? ' is-vetoed' : ''}${row.edited ? ' is-edited' : ''}${selected ? ' is-selected' : ''}`;
    rv.open.textContent = row.id;
    rv.star.hidden = !row.best;
    rv.statusIcon.textContent = STATUS_ICON[row.status];
    rv.statusText.textContent = row.status;
    rv.vetoed.hidden = !row.vetoed;
    rv.edited.hidden = !row.edited;
    rv.reused.hidden = !row.reusedFrom;
    if (row.reusedFrom) rv.reused.title = `Identical code scored earlier: ${row.reusedFrom}`;
    rv.score.textContent = row.score !== undefined ? pct(row.score) : '';
    rv.interval.textContent = row.interval ? interval(row.interval) : '';
    rv.error.textContent = row.errorClass ?? '';
    rv.error.title = row.message ?? '';
    rv.factory.textContent = row.factoryVersion !== undefined ? `v${row.factoryVersion}` : '';
    rv.temp.textContent = row.temperature !== undefined ? temperature(row.temperature) : '';
    rv.summary.textContent = row.summary ?? '';
    rv.summary.title = row.summary ? (row.edited ? `${row.summary} (as generated; the code was edited since)` : row.summary) : '';
  }

  private choose(id: string, how: 'pointer' | 'keyboard'): void {
    if (id === this.selected) return;
    this.setSelected(id);
    this.cb.select(id, how);
  }

  private onKey(e: KeyboardEvent): void {
    const n = this.shown.length;
    if (n === 0) return;
    const cur = this.selected !== undefined ? (this.indexOf.get(this.selected) ?? -1) : -1;
    const page = Math.max(1, Math.floor((this.viewH - HEAD_HEIGHT) / ROW_HEIGHT) - 1);
    let next: number;
    switch (e.key) {
      case 'ArrowDown':
        next = cur < 0 ? 0 : cur + 1;
        break;
      case 'ArrowUp':
        next = cur < 0 ? 0 : cur - 1;
        break;
      case 'PageDown':
        next = cur + page;
        break;
      case 'PageUp':
        next = cur - page;
        break;
      case 'Home':
        next = 0;
        break;
      case 'End':
        next = n - 1;
        break;
      case 'Enter':
        if (this.selected) this.cb.open(this.selected);
        e.preventDefault();
        return;
      default:
        return;
    }
    e.preventDefault();
    next = Math.max(0, Math.min(n - 1, next));
    this.ensureVisible(next);
    this.choose(this.shown[next].id, 'keyboard');
  }

  private ensureVisible(i: number): void {
    const rowTop = HEAD_HEIGHT + i * ROW_HEIGHT;
    if (rowTop - HEAD_HEIGHT < this.top) this.scrollTo(rowTop - HEAD_HEIGHT);
    else if (rowTop + ROW_HEIGHT > this.top + this.viewH) this.scrollTo(rowTop + ROW_HEIGHT - this.viewH);
    this.renderVisible();
  }
}
