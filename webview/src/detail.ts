// The selected algorithm: its code, its failure, its diff against the best earlier algorithm and
// its score history. All of it is generated or user text, so it goes in as textContent only.
import type { AlgorithmDetail, AlgorithmRow, DiffLine, GenerationDetail } from '../../src/protocol/webviewMessages';
import { el, loadingNote } from './dom';
import { interval, pct, points, temperature } from './format';
import { button } from './header';

export interface DetailCallbacks {
  open(id: string): void;
  veto(id: string, undo: boolean): void;
  exportModel(id: string): void;
}

/** Code as plain text in a pre: no highlighter, and never parsed as markup. */
export function codeBlock(code: string, cls = 'code'): HTMLPreElement {
  const pre = el('pre', { cls });
  pre.append(el('code', { text: code }));
  return pre;
}

export function diffBlock(lines: DiffLine[]): HTMLPreElement {
  const pre = el('pre', { cls: 'diff' });
  const code = el('code');
  // One span per line, so added and removed lines can carry the diff editor's colors.
  for (const l of lines) {
    const cls = l.op === '+' ? 'diff-line diff-add' : l.op === '-' ? 'diff-line diff-del' : 'diff-line';
    code.append(el('span', { cls, text: `${l.op} ${l.text}\n` }));
  }
  pre.append(code);
  return pre;
}

/** A titled part of the detail. Titles are set in capitals; `ref()` keeps an id as it is written. */
function section(title: string | (string | Node)[], cls: string, ...children: (Node | null)[]): HTMLElement {
  const h = typeof title === 'string' ? el('h3', { text: title }) : el('h3', {}, ...title.map((t) => (typeof t === 'string' ? document.createTextNode(t) : t)));
  return el('section', { cls: `detail-section ${cls}` }, h, ...children);
}

/** An algorithm's ref in a title: not upper-cased (ids are lower case: 1/a0008). */
function ref(text: string): HTMLElement {
  return el('span', { cls: 'ref', text });
}

/** How an LLM wrote the algorithm: extraction, the raw completion, and the prompt (collapsed,
 * since it is the same for the whole iteration). */
function generationSection(g: GenerationDetail): HTMLElement {
  const facts = [`by ${g.model}`, g.sampling, `finished: ${g.finishReason}`, g.duplicateOf ? `same code as ${g.duplicateOf}` : null].filter((x): x is string => x !== null).join(' · ');
  const prompt = el('details', { cls: 'generation-prompt' }, el('summary', { text: 'Prompt' }), codeBlock(g.prompt, 'prompt'));
  return section(
    'Generation',
    'detail-generation',
    el('p', { cls: 'detail-note', text: facts }),
    el('p', { cls: 'detail-note extraction', text: `Extraction: ${g.extraction}` }),
    el('h4', { text: 'Completion' }),
    codeBlock(g.completion, 'completion'),
    prompt,
  );
}

/** "2025-06-02 11:40" from an ISO time, in the viewer's time zone. */
function when(iso: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  const two = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${two(d.getMonth() + 1)}-${two(d.getDate())} ${two(d.getHours())}:${two(d.getMinutes())}`;
}

export class DetailPane {
  readonly root = el('aside', { cls: 'detail', attrs: { 'aria-label': 'Algorithm detail', 'aria-live': 'polite' } });

  constructor(private readonly cb: DetailCallbacks) {
    this.clear();
  }

  clear(): void {
    delete this.root.dataset.id;
    this.root.replaceChildren(el('p', { cls: 'detail-placeholder', text: 'Select an algorithm to see its code, its error or diff, and its score history. ↑/↓ move through the table.' }));
  }

  /** The row is known at once; the code follows from the host. */
  loading(row: AlgorithmRow): void {
    this.root.dataset.id = row.id;
    this.root.replaceChildren(this.heading(row), loadingNote());
  }

  error(message: string): void {
    this.root.replaceChildren(...[...this.root.children].filter((c) => c.classList.contains('detail-head')), el('p', { cls: 'detail-problem', text: message }));
  }

  show(d: AlgorithmDetail): void {
    this.root.dataset.id = d.id;
    const parts: (HTMLElement | null)[] = [this.heading(d.row)];
    if (d.error) {
      parts.push(
        section(
          'Error',
          'detail-error',
          el('div', { cls: 'error-class' }, el('span', { cls: 'tag tag-error', text: d.error.errorClass }), d.error.message ? el('span', { cls: 'error-message', text: d.error.message }) : null),
          d.error.detail ? codeBlock(d.error.detail, 'error-detail') : null,
        ),
      );
    }
    parts.push(section('Code', 'detail-code', codeBlock(d.code)));
    if (d.generation) parts.push(generationSection(d.generation));
    if (d.diff) {
      const added = d.diff.lines.filter((l) => l.op === '+').length;
      const removed = d.diff.lines.filter((l) => l.op === '-').length;
      const delta = d.row.score !== undefined ? ` · ${points(d.row.score - d.diff.againstScore)}` : '';
      parts.push(
        section(
          ['Diff against ', ref(d.diff.against), ` (${pct(d.diff.againstScore)})`],
          'detail-diff',
          el('p', { cls: 'detail-note', text: `${added} added, ${removed} removed${delta}` }),
          diffBlock(d.diff.lines),
        ),
      );
    }
    if (d.history.length) {
      const head = el('tr', {}, ...['When', 'Why', 'Score', 'Commit'].map((t) => el('th', { text: t, cls: t === 'Score' ? 'numeric' : '' })));
      const table = el('table', { cls: 'history' }, el('thead', {}, head));
      const tbody = el('tbody');
      d.history.forEach((h, k) => {
        const current = k === d.history.length - 1;
        tbody.append(
          el(
            'tr',
            { cls: current ? 'is-current' : '' },
            el('td', { text: h.at ? when(h.at) : '—', attrs: h.at ? { title: h.at } : {} }),
            el('td', { text: h.reason + (current && d.history.length > 1 ? ' (now)' : '') }),
            el('td', { cls: 'numeric', text: h.status === 'ok' ? pct(h.score) : h.status }),
            el('td', { cls: 'history-commit', text: h.commit ?? '', attrs: h.subject ? { title: h.subject } : {} }),
          ),
        );
      });
      table.append(tbody);
      parts.push(section('Score history', 'detail-history', table));
    }
    this.root.replaceChildren(...parts.filter((p): p is HTMLElement => p !== null));
  }

  private heading(row: AlgorithmRow): HTMLElement {
    const facts = [
      row.score !== undefined ? `${pct(row.score)} (95% ${interval(row.interval)})` : row.status,
      row.factoryVersion !== undefined ? `factory v${row.factoryVersion}` : null,
      row.temperature !== undefined ? `temperature ${temperature(row.temperature)}` : null,
      row.reusedFrom ? `identical to ${row.reusedFrom}` : null,
      row.isolation === 'kernel' ? 'ran in the kernel sandbox' : row.isolation === 'unisolated' ? 'ran UNISOLATED (Python guards only)' : null,
    ].filter((x): x is string => x !== null);
    const title = el(
      'h2',
      { cls: 'detail-title' },
      el('span', { text: row.id }),
      row.best ? el('span', { cls: 'marker-best', text: '★ best' }) : null,
      row.status === 'failed' ? el('span', { cls: 'tag tag-failed', text: 'failed' }) : null,
      row.status === 'pending' ? el('span', { cls: 'tag', text: 'pending' }) : null,
      row.vetoed ? el('span', { cls: 'tag tag-vetoed', text: 'vetoed' }) : null,
      row.edited ? el('span', { cls: 'tag tag-edited', text: 'edited' }) : null,
    );
    return el(
      'div',
      { cls: 'detail-head' },
      title,
      el('p', { cls: 'detail-facts', text: facts.join(' · ') }),
      // The summary is the generated code's docstring: after an edit it may no longer say what the code does.
      row.summary
        ? el(
            'p',
            { cls: `detail-summary${row.edited ? ' is-stale' : ''}` },
            el('span', { text: row.summary }),
            row.edited ? el('span', { cls: 'tag tag-stale', text: 'as generated', attrs: { title: 'This summary describes the code as the factory wrote it; the code was edited since' } }) : null,
          )
        : null,
      el(
        'div',
        { cls: 'detail-actions' },
        button('Open File', () => this.cb.open(row.id), { appearance: 'secondary', data: { action: 'open' } }),
        button(row.vetoed ? 'Undo Veto' : 'Veto', () => this.cb.veto(row.id, row.vetoed), {
          appearance: 'secondary',
          data: { action: 'veto' },
          title: row.vetoed ? 'Let this algorithm count again' : 'Leave this algorithm out of bests and preference pairs',
        }),
        row.status === 'ok'
          ? button('Export Model…', () => this.cb.exportModel(row.id), {
              appearance: 'secondary',
              data: { action: 'export-model' },
              title: 'Write the merged model as a Hugging Face checkpoint with a model card',
            })
          : null,
      ),
    );
  }
}
