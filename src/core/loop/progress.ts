// How far a loop command is, for a progress bar and an estimate of the time left: the same
// figures for the VS Code notification, the status bar and the CLI.
import type { LoopPhase } from './context';

/** Each phase's share of an iteration (measured on the demo: scoring dominates; the baselines
 * come once, before the first iteration). */
const SHARE: Record<string, number> = { baselines: 0.2, generate: 0.1, score: 0.45, control: 0.15, pairs: 0.02, refine: 0.08 };
const ORDER: string[] = ['baselines', 'generate', 'score', 'control', 'pairs', 'refine'];

/**
 * The fraction (0..1) of a command that iterates `planned` times, starting at iteration `first`,
 * when it is at `phase` of iteration `iteration` with `done` of `total` items done. Never goes
 * back: callers keep the maximum, since a phase can be skipped.
 */
export function commandFraction(p: { iteration: number; phase: string; done?: number; total?: number }, planned: number, first: number): number {
  if (planned <= 0) return 0;
  const k = ORDER.indexOf(p.phase);
  if (k < 0) return 0;
  const within = ORDER.slice(0, k).reduce((a, ph) => a + SHARE[ph], 0) + SHARE[p.phase] * (p.total ? Math.min(1, (p.done ?? 0) / p.total) : 0);
  const itersBefore = p.phase === 'baselines' ? 0 : Math.max(0, p.iteration - first);
  return Math.min(1, (itersBefore + within) / planned);
}

/** The time a phase still needs, from its pace: known after a few items and a few seconds. */
export class PhaseClock {
  private phase = '';
  private startedAt = 0;
  /** Items done when the clock started: a resumed phase starts with some done already. */
  private startDone: number | undefined;

  constructor(private readonly now: () => number = () => Date.now()) {}

  /** Seconds left, or undefined while too little is known (or the phase is nearly instant). */
  update(phase: LoopPhase | string, iteration: number, done: number | undefined, total: number | undefined): number | undefined {
    const key = `${iteration}:${phase}`;
    if (key !== this.phase) {
      this.phase = key;
      this.startedAt = this.now();
      this.startDone = done;
      return undefined;
    }
    if (done === undefined || !total) return undefined;
    if (this.startDone === undefined) {
      this.startedAt = this.now();
      this.startDone = done;
      return undefined;
    }
    const elapsed = (this.now() - this.startedAt) / 1000;
    const progressed = done - this.startDone;
    if (progressed < 2 || elapsed < 3) return undefined;
    return ((total - done) * elapsed) / progressed;
  }
}
