// Which commit of a run branch added each record of an append-only JSONL file: the history of an
// algorithm's scores (first score, edits, re-evaluations) can then name the commit of each.
import { simpleGit } from 'simple-git';

export interface RecordCommit {
  /** Abbreviated hash. */
  commit: string;
  /** Author time, ISO 8601. */
  at: string;
  subject: string;
}

/**
 * For each record of `file` (relative to the worktree `dir`) whose "id" is `id`, in file order,
 * the commit that added its line. Lines are matched as added by `git log -p`: a record is only
 * ever appended, so each line has one commit. [] where git cannot tell (no history yet).
 */
export async function recordCommits(dir: string, file: string, id: string): Promise<RecordCommit[]> {
  let log: string;
  try {
    log = await simpleGit({ baseDir: dir }).raw(['log', '--reverse', '--format=%x00%h%x09%aI%x09%s', '-p', '--unified=0', '--no-color', '--', file]);
  } catch {
    return [];
  }
  const out: RecordCommit[] = [];
  const needle = `"id":${JSON.stringify(id)}`;
  for (const chunk of log.split('\0').slice(1)) {
    const [head, ...lines] = chunk.split('\n');
    const [commit, at, ...subject] = head.split('\t');
    for (const line of lines) {
      if (!line.startsWith('+{')) continue;
      // The id field itself, not a mention in another field (records are written id first).
      if (line.startsWith(`+{${needle}`)) out.push({ commit, at, subject: subject.join('\t') });
    }
  }
  return out;
}
