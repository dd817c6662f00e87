// Sampling temperature per iteration. The paper's schedule fits T_t = T_1 / (1 + d (t - 1))
// (1.2, 1.0, 0.857 for d = 0.2); a linear one is offered too.

export interface TemperatureSchedule {
  kind: 'inverse' | 'linear';
  start: number;
  /** inverse: d in T_1 / (1 + d (t - 1)); linear: the amount subtracted per iteration. */
  decay: number;
  /** Lowest temperature a linear schedule reaches. */
  floor?: number;
}

export const DEFAULT_SCHEDULE: TemperatureSchedule = { kind: 'inverse', start: 1.2, decay: 0.2 };

/** Temperature of iteration `t` (1-based). */
export function temperatureAt(s: TemperatureSchedule, t: number): number {
  if (!Number.isInteger(t) || t < 1) throw new RangeError(`iterations are numbered from 1, got ${t}`);
  if (s.kind === 'inverse') return s.start / (1 + s.decay * (t - 1));
  return Math.max(s.floor ?? 0.05, s.start - s.decay * (t - 1));
}
