// A folder of output that appears only when complete: it must not exist (or be empty), is
// written under a temporary name, and renamed at the end; a failure leaves nothing behind.
import { promises as fs } from 'node:fs';
import * as path from 'node:path';

/** Fills a new folder at `out` through `fill(dir)`; `what` names it in the refusal ("a report"). */
export async function writeNewFolder<T>(out: string, what: string, fill: (dir: string) => Promise<T>): Promise<{ folder: string; result: T }> {
  const folder = path.resolve(out);
  const existing = await fs.readdir(folder).catch((err: NodeJS.ErrnoException) => (err.code === 'ENOENT' ? [] : Promise.reject(err)));
  if (existing.length) throw new Error(`${folder} already exists and is not empty; choose another --out folder (${what} never overwrites)`);
  const partial = `${folder}.partial-${process.pid}`;
  await fs.rm(partial, { recursive: true, force: true });
  await fs.mkdir(partial, { recursive: true });
  try {
    const result = await fill(partial);
    await fs.rmdir(folder).catch(() => undefined);
    await fs.rename(partial, folder);
    return { folder, result };
  } catch (err) {
    await fs.rm(partial, { recursive: true, force: true }).catch(() => undefined);
    throw err;
  }
}
