import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { bestSoFar } from './loop/summary';
import { RUN_FILE, SUMMARY_FILE } from './run/layout';
import { inspectRunHeader } from './run/runFiles';

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
  /** The best algorithm so far, from summary.json (absent before the first iteration's). */
  best?: { score: number; ref: string };
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
    const runFile = path.join(dir, RUN_FILE);
    let text: string;
    try {
      text = await fs.readFile(runFile, 'utf8');
    } catch {
      continue; // not a run folder
    }
    runs.push({ ...inspectRunHeader(text, runFile, entry), dir, iterations: await listIterations(dir), ...(await readBest(dir)) });
  }
  return runs.sort((a, b) => (b.createdAt ?? '').localeCompare(a.createdAt ?? '') || a.id.localeCompare(b.id));
}

async function readBest(dir: string): Promise<{ best?: { score: number; ref: string } }> {
  try {
    const best = bestSoFar(JSON.parse(await fs.readFile(path.join(dir, SUMMARY_FILE), 'utf8')) as { iterations?: unknown });
    return best ? { best } : {};
  } catch {
    return {}; // none yet, or damaged: the run is listed without it
  }
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
