// sha256 of files and folders on the backend's machine: the runner's merged overlay is checked
// against the hash it reported, and a refined generator is named by the hash of its weights.
import { createHash } from 'node:crypto';
import { createReadStream, promises as fs } from 'node:fs';
import * as path from 'node:path';

export async function sha256File(file: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(file)) h.update(chunk as Buffer);
  return h.digest('hex');
}

/** sha256 over a folder's files: each name (relative, sorted) and its content's sha256. */
export async function folderHash(dir: string): Promise<string> {
  const files: string[] = [];
  const walk = async (rel: string): Promise<void> => {
    for (const e of await fs.readdir(path.join(dir, rel), { withFileTypes: true })) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) await walk(r);
      else if (e.isFile()) files.push(r);
    }
  };
  await walk('');
  const h = createHash('sha256');
  for (const f of files.sort()) h.update(`${f}\0${await sha256File(path.join(dir, ...f.split('/')))}\n`);
  return h.digest('hex');
}
