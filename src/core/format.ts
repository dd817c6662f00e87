// How the CLI and the extension print scores: one formatter, so a figure reads the same in a
// terminal, a notification and the Runs tree (the webview has its own copy: it imports only the
// protocol file).
import type { WorkerInfo, WorkerPoolStatus } from '../protocol/backend';

/** 0.4375 -> "43.8%"; a missing value -> "-". */
export function pct(x: number | null | undefined, digits = 1): string {
  return x === null || x === undefined || !Number.isFinite(x) ? '-' : `${(100 * x).toFixed(digits)}%`;
}

/** [0.3, 0.45] -> "[30.0%, 45.0%]". */
export function pctInterval(low: number, high: number, digits = 1): string {
  return `[${pct(low, digits)}, ${pct(high, digits)}]`;
}

/** One line of DPO progress: "DPO step 3/12 · loss 0.651 · reward accuracy 75.0% · margin 0.120". */
export function describeRefining(p: { phase: string; step: number; steps: number; loss?: number; rewardAccuracy?: number; rewardMargin?: number }): string {
  if (p.phase !== 'train') return { load: 'DPO: loading the generator', evaluate: 'DPO: measuring held-out pairs', save: 'DPO: saving the refined generator' }[p.phase] ?? `DPO: ${p.phase}`;
  const parts = [`DPO step ${p.step}/${p.steps}`];
  if (p.loss !== undefined) parts.push(`loss ${p.loss.toFixed(3)}`);
  if (p.rewardAccuracy !== undefined) parts.push(`reward accuracy ${pct(p.rewardAccuracy)}`);
  if (p.rewardMargin !== undefined) parts.push(`margin ${p.rewardMargin.toFixed(3)}`);
  return parts.join(' · ');
}

/** A run's workers in one line: "workers 2 running · 1 pending · queue 5 · 12 done · 340/h". */
export function describeWorkers(s: Pick<WorkerPoolStatus, 'state' | 'workers' | 'queued' | 'running' | 'finished' | 'requeued' | 'duplicates' | 'jobsPerHour' | 'message'>): string {
  if (s.state === 'closed') return `workers released${s.message ? `: ${s.message}` : ''} · ${s.finished} done${s.requeued ? ` · ${s.requeued} requeued` : ''}`;
  const by = new Map<string, number>();
  for (const w of s.workers) by.set(w.state, (by.get(w.state) ?? 0) + 1);
  const parts = [['running', 'starting', 'pending', 'lost', 'ended'].filter((k) => by.get(k)).map((k) => `${by.get(k)} ${k}`).join(', ') || 'none yet'];
  parts.push(`queue ${s.queued}`, `${s.running} in progress`, `${s.finished} done`);
  if (s.requeued) parts.push(`${s.requeued} requeued`);
  if (s.jobsPerHour !== undefined) parts.push(`${Math.round(s.jobsPerHour)}/h`);
  return `workers ${parts.join(' · ')}`;
}

/** One worker: "0 running on node1 (pid 123) · 4 done · on 1/dev/ab12". */
export function describeWorker(w: WorkerInfo): string {
  const where = w.host ? ` on ${w.host}${w.pid ? ` (pid ${w.pid})` : ''}` : '';
  const why = w.state === 'pending' && w.reason ? ` (${w.reason})` : '';
  return `${w.index} ${w.state}${why}${where} · ${w.jobsDone} done${w.current ? ` · on ${w.current}` : ''}`;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** An ISO time as a short local "Dec 2 06:12" (with the year when it is not this year's). */
export function shortTime(iso: string | undefined, now = new Date()): string {
  const d = iso ? new Date(iso) : undefined;
  if (!d || Number.isNaN(d.getTime())) return '';
  const two = (n: number) => String(n).padStart(2, '0');
  return `${MONTHS[d.getMonth()]} ${d.getDate()}${d.getFullYear() === now.getFullYear() ? '' : ` ${d.getFullYear()}`} ${two(d.getHours())}:${two(d.getMinutes())}`;
}

/** What tells runs apart, after the name: "Dec 2 06:12 · 3 iterations · best 45.0%". */
export function describeRun(run: { createdAt?: string; iterations: readonly number[]; best?: { score: number }; problem?: string }, now = new Date()): string {
  if (run.problem) return 'damaged run.json';
  const n = run.iterations.length;
  return [shortTime(run.createdAt, now), `${n} iteration${n === 1 ? '' : 's'}`, run.best && `best ${pct(run.best.score)}`].filter(Boolean).join(' · ');
}
