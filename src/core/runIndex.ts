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
