// Stepping through a run's iterations: Previous/Next, a slider and the left/right arrow keys.
// Iteration numbers need not be contiguous, so the slider moves over positions in the list.
import type { RunOverview } from '../../src/protocol/webviewMessages';
import { el, isTextInput } from './dom';
import { count, pct, temperature } from './format';
import { button, setDisabled } from './header';

export class Stepper {
  readonly root = el('div', { cls: 'stepper', attrs: { role: 'group', 'aria-label': 'Iteration' } });
  private readonly prev: HTMLElement;
  private readonly next: HTMLElement;
  private readonly slider = el('input', { cls: 'iteration-slider', attrs: { type: 'range', min: '0', max: '0', step: '1', 'aria-label': 'Iteration' } });
  private readonly label = el('span', { cls: 'iteration-label', attrs: { 'aria-live': 'polite' } });
  private readonly summary = el('span', { cls: 'iteration-summary' });
  private iterations: number[] = [];
  private current: number | undefined;

  constructor(private readonly onSelect: (iteration: number) => void) {
    this.prev = button('‹ Previous', () => this.step(-1), { appearance: 'secondary', data: { action: 'prev' }, title: 'Previous iteration (←)' });
    this.next = button('Next ›', () => this.step(1), { appearance: 'secondary', data: { action: 'next' }, title: 'Next iteration (→)' });
    this.slider.addEventListener('input', () => {
      const it = this.iterations[Number(this.slider.value)];
      if (it !== undefined && it !== this.current) this.onSelect(it);
    });
    this.root.append(el('div', { cls: 'stepper-controls' }, this.prev, this.slider, this.next, this.label), this.summary);
    document.addEventListener('keydown', (e) => {
      if (e.key !== 'ArrowLeft' && e.key !== 'ArrowRight') return;
      // The slider handles its own arrows; text fields and dropdowns keep theirs.
      if (e.defaultPrevented || e.altKey || e.ctrlKey || e.metaKey || e.shiftKey || e.target === this.slider || isTextInput(e.target)) return;
      e.preventDefault();
      this.step(e.key === 'ArrowLeft' ? -1 : 1);
    });
  }

  step(delta: number): void {
    const i = this.current === undefined ? -1 : this.iterations.indexOf(this.current);
    const it = this.iterations[i + delta];
    if (i >= 0 && it !== undefined) this.onSelect(it);
  }

  set(ov: RunOverview | null, iteration: number | undefined): void {
    this.iterations = ov?.iterations.map((it) => it.iteration) ?? [];
    this.current = iteration;
    const i = iteration === undefined ? -1 : this.iterations.indexOf(iteration);
    const n = this.iterations.length;
    this.slider.max = String(Math.max(0, n - 1));
    this.slider.value = String(Math.max(0, i));
    this.slider.disabled = n < 2;
    setDisabled(this.prev, i <= 0);
    setDisabled(this.next, i < 0 || i >= n - 1);
    const last = this.iterations.at(-1);
    this.label.textContent = n === 0 ? 'No iterations yet' : `Iteration ${iteration ?? '—'} of ${last}`;
    this.slider.setAttribute('aria-valuetext', this.label.textContent);
    const it = ov?.iterations[i];
    this.summary.textContent = it
      ? [
          `temperature ${temperature(it.temperature)}`,
          `${count(it.algorithms, 'algorithm')} (${it.ok} ok, ${it.failed} failed)`,
          `best ${pct(it.best?.score)}${it.best ? ` (${it.best.id})` : ''}`,
          `mean ${pct(it.meanScore)}`,
          it.complete ? 'refined' : 'refinement pending',
        ].join(' · ')
      : n === 0
        ? 'Run the next iteration to start the loop.'
        : '';
  }
}
