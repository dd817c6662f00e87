// The panel header: run picker, branch, live progress and the loop's commands; and the empty
// state shown when there are no runs yet.
import { describeLive, type LiveStatus, type RunListEntry, type RunOverview, type WebviewCommand } from '../../src/protocol/webviewMessages';
import { badge, custom, el, spinner } from './dom';

export interface HeaderCallbacks {
  pickRun(runId: string): void;
  command(command: WebviewCommand): void;
}

export function button(label: string, onClick: () => void, opts: { appearance?: 'primary' | 'secondary' | 'icon'; data?: Record<string, string>; title?: string } = {}): HTMLElement {
  const b = custom('vscode-button', { text: label, attrs: { appearance: opts.appearance ?? 'primary' }, data: opts.data });
  if (opts.title) b.title = opts.title;
  b.addEventListener('click', () => {
    if (!b.hasAttribute('disabled')) onClick();
  });
  return b;
}

export function setDisabled(node: HTMLElement, disabled: boolean): void {
  node.toggleAttribute('disabled', disabled);
}

export class Header {
  readonly root = el('header', { cls: 'panel-header' });
  private readonly picker = el('div', { cls: 'run-picker' });
  private readonly branch = el('span', { cls: 'run-branch' });
  private readonly finalized = badge('finalized', 'run-finalized');
  /** A run whose folder cannot be read fully says why (RunListEntry.problem). */
  private readonly problem = el('span', { cls: 'run-problem', attrs: { role: 'note' } });
  private runs: RunListEntry[] = [];
  private readonly live = el('div', { cls: 'live-status', attrs: { role: 'status', 'aria-live': 'polite' } });
  private readonly liveText = el('span', { cls: 'live-text' });
  /** Scale-out: the run's workers (pending, running, lost), the queue and the throughput. */
  private readonly workers = el('span', { cls: 'live-workers' });
  private readonly runNext: HTMLElement;
  private readonly stop: HTMLElement;
  private readonly report: HTMLElement;
  private dropdown: HTMLElement | null = null;
  private pickerKey = '';
  /** Set while the dropdown's value is changed from code, so its change event is not a pick. */
  private settingValue = false;

  constructor(private readonly cb: HeaderCallbacks) {
    this.runNext = button('Run Next Iteration', () => cb.command('selfdev.runNextIteration'), { data: { command: 'selfdev.runNextIteration' } });
    this.stop = button('Stop', () => cb.command('selfdev.stop'), { appearance: 'secondary', data: { command: 'selfdev.stop' } });
    this.report = button('Export Report…', () => cb.command('selfdev.exportReport'), {
      appearance: 'secondary',
      data: { command: 'selfdev.exportReport' },
      title: "The run's report: Markdown and HTML with its figures, tables and best algorithms",
    });
    this.live.append(spinner('Running'), this.liveText, this.workers);
    this.live.hidden = true;
    this.finalized.hidden = true;
    this.problem.hidden = true;
    this.root.append(
      el('div', { cls: 'header-main' }, el('span', { cls: 'panel-title', text: 'Self-Developing' }), this.picker, this.branch, this.finalized, this.live, this.problem),
      el('div', { cls: 'header-actions' }, this.runNext, this.stop, this.report),
    );
  }

  setRuns(runs: RunListEntry[], currentId: string | undefined): void {
    this.runs = runs;
    const key = JSON.stringify(runs.map((r) => [r.id, r.name]));
    if (key !== this.pickerKey) {
      this.pickerKey = key;
      this.picker.replaceChildren();
      this.dropdown = null;
      if (runs.length > 1) {
        const dd = custom('vscode-dropdown', { cls: 'run-dropdown', attrs: { 'aria-label': 'Run' } });
        for (const r of runs) {
          const opt = custom('vscode-option', { text: r.name === r.id ? r.name : `${r.name} (${r.id})`, attrs: { value: r.id } });
          if (r.id === currentId) opt.setAttribute('selected', '');
          dd.append(opt);
        }
        dd.addEventListener('change', () => {
          if (this.settingValue) return;
          const v = (dd as HTMLElement & { value: string }).value;
          if (v) this.cb.pickRun(v);
        });
        this.dropdown = dd;
        this.picker.append(dd);
      } else if (runs.length === 1) {
        this.picker.append(el('span', { cls: 'run-name', text: runs[0].name, data: { runId: runs[0].id } }));
      }
    }
    this.setCurrent(currentId);
  }

  setCurrent(runId: string | undefined): void {
    const problem = this.runs.find((r) => r.id === runId)?.problem;
    this.problem.textContent = problem ? `⚠ ${problem}` : '';
    this.problem.hidden = !problem;
    const dd = this.dropdown as (HTMLElement & { value: string }) | null;
    if (dd && runId && dd.value !== runId) {
      this.settingValue = true;
      dd.value = runId;
      this.settingValue = false;
    }
  }

  setOverview(ov: RunOverview | null): void {
    this.branch.textContent = ov?.branch ? ov.branch : '';
    this.branch.title = ov?.branch ? `Git branch of the run: ${ov.branch}` : '';
    this.branch.hidden = !ov?.branch;
    this.finalized.hidden = !ov?.finalized;
  }

  /** The live line and which commands make sense: Stop only while this run's loop runs. */
  setLive(status: LiveStatus | null, runs: RunListEntry[] | null, currentId: string | undefined): void {
    this.live.hidden = status === null;
    if (status) {
      const other = status.runId !== currentId ? `${runs?.find((r) => r.id === status.runId)?.name ?? status.runId} — ` : '';
      this.liveText.textContent = `${other}${status.detail ? `${status.iteration ? `iteration ${status.iteration} · ` : ''}${status.detail}` : describeLive(status)}`;
      const w = status.workers;
      this.workers.hidden = !w;
      this.workers.textContent = w ? w.summary : '';
      this.workers.title = w ? w.lines.join('\n') : '';
    }
    const running = (status !== null && status.runId === currentId) || (runs?.find((r) => r.id === currentId)?.running ?? false);
    setDisabled(this.runNext, !currentId || running);
    setDisabled(this.stop, !running);
  }

  setVisible(hasRuns: boolean): void {
    this.picker.hidden = !hasRuns;
    this.root.querySelector<HTMLElement>('.header-actions')!.hidden = !hasRuns;
  }
}

export function emptyState(command: (c: WebviewCommand) => void): HTMLElement {
  return el(
    'section',
    { cls: 'empty-state', attrs: { 'aria-label': 'No runs yet' } },
    el('h2', { text: 'No Self-Developing runs yet' }),
    el('p', { text: 'The demo world runs the whole loop on this machine in minutes: tiny models and math benchmarks, no GPU and no download.' }),
    el(
      'div',
      { cls: 'empty-actions' },
      button('Start the Demo Run', () => command('selfdev.startDemo'), { data: { command: 'selfdev.startDemo' } }),
      button('New Run from Config…', () => command('selfdev.newRun'), { appearance: 'secondary', data: { command: 'selfdev.newRun' } }),
    ),
  );
}
