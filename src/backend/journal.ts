// Finished jobs on disk, keyed by job id: a reconnecting client gets the stored answer instead of
// a second computation.
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';

export class Journal {
  constructor(private readonly dir: string) {}

  private file(jobId: string): string {
    return path.join(this.dir, `${createHash('sha256').update(jobId).digest('hex').slice(0, 32)}.json`);
  }

  async get<T extends { jobId: string }>(jobId: string): Promise<T | undefined> {
    try {
      const stored = JSON.parse(await fs.readFile(this.file(jobId), 'utf8')) as T;
      return stored.jobId === jobId ? stored : undefined;
    } catch {
      return undefined;
    }
  }

  async put(result: { jobId: string }): Promise<void> {
    await fs.mkdir(this.dir, { recursive: true });
    const file = this.file(result.jobId);
    const tmp = `${file}.tmp-${process.pid}`;
    await fs.writeFile(tmp, JSON.stringify(result));
    await fs.rename(tmp, file);
  }
}
