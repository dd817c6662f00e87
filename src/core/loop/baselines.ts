// The human baselines of resources/algorithms/ and their coefficient grids (the GRID constant of
// each file), as scoring jobs: every run tunes them on dev with the budget the paper gave them.
import { promises as fs } from 'node:fs';
import * as path from 'node:path';

export interface BaselineVariant {
  id: string;
  /** The baseline file's name without .py. */
  method: string;
  file: string;
  source: string;
  constants: Record<string, number | string | boolean | null>;
}

type GridValue = number | string | boolean | null;

/** Reads `GRID = {...}` (a one-line Python dict of lists of literals). */
export function parseGrid(source: string, file: string): Record<string, GridValue[]> {
  const line = source.split('\n').find((l) => /^GRID\s*=/.test(l));
  if (!line) return {};
  const literal = line
    .replace(/^GRID\s*=\s*/, '')
    .replace(/'/g, '"')
    .replace(/\bTrue\b/g, 'true')
    .replace(/\bFalse\b/g, 'false')
    .replace(/\bNone\b/g, 'null');
  try {
    const grid = JSON.parse(literal) as Record<string, GridValue[]>;
    if (!Object.values(grid).every(Array.isArray)) throw new Error('values must be lists');
    return grid;
  } catch (err) {
    throw new Error(`${file}: GRID is not a one-line dict of lists (${(err as Error).message})`);
  }
}

function product(grid: Record<string, GridValue[]>): Record<string, GridValue>[] {
  return Object.entries(grid).reduce<Record<string, GridValue>[]>(
    (acc, [name, values]) => acc.flatMap((partial) => values.map((v) => ({ ...partial, [name]: v }))),
    [{}],
  );
}

export async function baselineVariants(dir: string): Promise<BaselineVariant[]> {
  const files = (await fs.readdir(dir)).filter((f) => f.endsWith('.py')).sort();
  const variants: BaselineVariant[] = [];
  for (const f of files) {
    const file = path.join(dir, f);
    const source = await fs.readFile(file, 'utf8');
    const method = f.replace(/\.py$/, '');
    for (const constants of product(parseGrid(source, file))) {
      const suffix = Object.entries(constants).map(([k, v]) => `${k}=${v}`).join(',');
      variants.push({ id: `baseline-${method}${suffix ? `-${suffix}` : ''}`, method, file: f, source, constants });
    }
  }
  return variants;
}
