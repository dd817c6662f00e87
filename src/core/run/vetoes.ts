// vetoes.json: what a person took out of ranking and refinement. Algorithms are named
// `iteration/id` (1/a0007); pairs `iteration:chosen>rejected` (2:2/a0003>1/a0010), since a pair
// only means something for the refinement of the iteration that selected it.
// The first format was a plain list of algorithm refs; it is still read.

import { VETOES_FILE } from './layout';

export interface VetoFile {
  algorithms: string[];
  pairs: string[];
}

export class Vetoes {
  private readonly algorithms: Set<string>;
  private readonly pairs: Set<string>;

  constructor(file: Partial<VetoFile> = {}) {
    this.algorithms = new Set(file.algorithms ?? []);
    this.pairs = new Set(file.pairs ?? []);
  }

  static parse(text: string | undefined, where: string): Vetoes {
    if (!text?.trim()) return new Vetoes();
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (err) {
      throw new Error(`${where}: not valid JSON (${(err as Error).message}); fix or delete it (git log shows each veto)`);
    }
    if (Array.isArray(json) && json.every((x) => typeof x === 'string')) return new Vetoes({ algorithms: json });
    const obj = json as Partial<Record<keyof VetoFile, unknown>>;
    const list = (v: unknown) => v === undefined || (Array.isArray(v) && v.every((x) => typeof x === 'string'));
    if (typeof json !== 'object' || json === null || !list(obj.algorithms) || !list(obj.pairs)) {
      throw new Error(`${where}: expected {"algorithms": [...], "pairs": [...]} (lists of strings)`);
    }
    return new Vetoes(obj as Partial<VetoFile>);
  }

  hasAlgorithm(iteration: number, id: string): boolean {
    return this.algorithms.has(`${iteration}/${id}`);
  }

  hasPair(iteration: number, chosen: string, rejected: string): boolean {
    return this.pairs.has(pairKey(iteration, chosen, rejected));
  }

  setAlgorithm(iteration: number, id: string, vetoed: boolean): boolean {
    return toggle(this.algorithms, `${iteration}/${id}`, vetoed);
  }

  setPair(iteration: number, chosen: string, rejected: string, vetoed: boolean): boolean {
    return toggle(this.pairs, pairKey(iteration, chosen, rejected), vetoed);
  }

  get algorithmCount(): number {
    return this.algorithms.size;
  }

  toJSON(): VetoFile {
    return { algorithms: [...this.algorithms].sort(), pairs: [...this.pairs].sort() };
  }
}

export const pairKey = (iteration: number, chosen: string, rejected: string) => `${iteration}:${chosen}>${rejected}`;

/** Adds or removes; true when that changed something. */
function toggle(set: Set<string>, key: string, on: boolean): boolean {
  if (set.has(key) === on) return false;
  if (on) set.add(key);
  else set.delete(key);
  return true;
}

/** Writes vetoes.json into the run (the caller commits). */
export async function writeVetoes(run: { write(rel: string, text: string): Promise<void> }, vetoes: Vetoes): Promise<void> {
  await run.write(VETOES_FILE, JSON.stringify(vetoes, null, 1) + '\n');
}
