import { promises as fs } from 'node:fs';
import * as path from 'node:path';

/** What the runs sidebar needs to know about one run folder (a worktree holding run.json). */
export interface RunSummary {
  id: string;
  dir: string;
  name: string;
  createdAt?: string;
  /** Iteration folders present under iterations/, in order. */
  iterations: number[];
  /** Set when run.json is missing fields or is not valid JSON; the run is still listed. */
  problem?: string;
}

const ITERATION_DIR = /^\d{2,}$/;

/** Lists the runs kept under `location`, newest first. A missing location means no runs. */
export async function listRuns(location: string): Promise<RunSummary[]> {
  let entries: string[];
  try {
    entries = await fs.readdir(location);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw new Error(`Cannot read the runs folder ${location}: ${(err as Error).message}`);
  }
  const runs: RunSummary[] = [];
  for (const entry of entries.sort()) {
    const dir = path.join(location, entry);
    const runFile = path.join(dir, 'run.json');
    let text: string;
    try {
      text = await fs.readFile(runFile, 'utf8');
    } catch {
      continue; // not a run folder
    }
    runs.push({ ...parseRunHeader(text, runFile, entry), dir, iterations: await listIterations(dir) });
  }
  return runs.sort((a, b) => (b.createdAt ?? '').localeCompare(a.createdAt ?? '') || a.id.localeCompare(b.id));
}

function parseRunHeader(text: string, file: string, fallbackId: string): Omit<RunSummary, 'dir' | 'iterations'> {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    return { id: fallbackId, name: fallbackId, problem: `${file}: not valid JSON (${(err as Error).message})` };
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    return { id: fallbackId, name: fallbackId, problem: `${file}: expected a JSON object` };
  }
  const obj = json as Record<string, unknown>;
  const id = typeof obj.id === 'string' && obj.id ? obj.id : fallbackId;
  const name = typeof obj.name === 'string' && obj.name ? obj.name : id;
  const createdAt = typeof obj.createdAt === 'string' ? obj.createdAt : undefined;
  const problem = typeof obj.id === 'string' ? undefined : `${file}: field "id" (a string) is missing`;
  return { id, name, createdAt, problem };
}

async function listIterations(dir: string): Promise<number[]> {
  try {
    const names = await fs.readdir(path.join(dir, 'iterations'), { withFileTypes: true });
    return names
      .filter((d) => d.isDirectory() && ITERATION_DIR.test(d.name))
      .map((d) => Number(d.name))
      .sort((a, b) => a - b);
  } catch {
    return [];
  }
}

export interface AlgorithmSummary {
  id: string;
  /** Path of the code, relative to the run. */
  file: string;
  status: 'ok' | 'failed' | 'pending';
  score?: number;
  interval?: [number, number];
  errorClass?: string;
  message?: string;
  summary?: string;
}

/** An iteration's algorithms, best first; those not scored yet come last as pending. */
export async function listAlgorithms(runDir: string, iteration: number): Promise<AlgorithmSummary[]> {
  const dir = path.join(runDir, 'iterations', String(iteration).padStart(2, '0'));
  const files = (await fs.readdir(path.join(dir, 'algorithms')).catch(() => [] as string[])).filter((f) => f.endsWith('.py')).sort();
  const text = await fs.readFile(path.join(dir, 'results.jsonl'), 'utf8').catch(() => '');
  const results = new Map<string, AlgorithmSummary>();
  for (const line of text.split('\n')) {
    try {
      const r = JSON.parse(line) as AlgorithmSummary & { id: string };
      results.set(r.id, r);
    } catch {
      // a line still being written, or damaged: the loop reports it when it reads the file
    }
  }
  const rank = (a: AlgorithmSummary) => (a.status === 'ok' ? 0 : a.status === 'failed' ? 1 : 2);
  return files
    .map((f) => {
      const id = f.replace(/\.py$/, '');
      const r = results.get(id);
      const file = path.join('iterations', String(iteration).padStart(2, '0'), 'algorithms', f);
      return r ? { id, file, status: r.status, score: r.score, interval: r.interval, errorClass: r.errorClass, message: r.message, summary: r.summary } : { id, file, status: 'pending' as const };
    })
    .sort((a, b) => rank(a) - rank(b) || (b.score ?? 0) - (a.score ?? 0) || a.id.localeCompare(b.id));
}
