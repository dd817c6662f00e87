// A run to archive or share: the run branch as a git bundle (with its tags) next to its report,
// in one folder that `selfdev import` and *Open Run Bundle…* open again.
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { RunFiles } from '../core/run/runFiles';
import type { Run, RunStore } from '../core/store/runStore';
import { loadReportWriter } from './report/loadReport';
import { writeNewFolder } from './newFolder';

export interface ExportedBundle {
  folder: string;
  bundle: string;
  report: string;
  refs: string[];
  commit: string;
}

export async function exportRunBundle(store: RunStore, run: Run, out: string, version: string): Promise<ExportedBundle> {
  const head = await run.head();
  const name = `${run.id}.bundle`;
  const { folder, result: refs } = await writeNewFolder(out, 'a bundle', async (dir) => {
    const { refs } = await store.bundle(run.id, path.join(dir, name));
    await loadReportWriter().writeReport(new RunFiles(run), head, path.join(dir, 'report'), version);
    await fs.writeFile(
      path.join(dir, 'README.md'),
      [
        `# Run ${run.id}`,
        '',
        `\`${name}\` holds the run's branch \`${run.branch}\` and its tags (${refs.length} refs) as a git bundle, at commit ${head.commit}${head.dirty ? ' (changes not committed then are not in it)' : ''}.`,
        '`report/` is its report (report.md, report.html).',
        '',
        `Open it again with \`selfdev import ${name}\`, or in VS Code with *Self-Developing: Open Run Bundle…*; the run then appears in the Runs view.`,
        `With git alone: \`git fetch ${name} refs/heads/${run.branch}:refs/heads/${run.branch}\`.`,
        '',
      ].join('\n'),
    );
    return refs;
  });
  return { folder, bundle: path.join(folder, name), report: path.join(folder, 'report'), refs, commit: head.commit };
}

/** Opens a bundle file, or the one .bundle file of a folder made by exportRunBundle. */
export async function importRunBundle(store: RunStore, from: string): Promise<Run> {
  const p = path.resolve(from);
  const stat = await fs.stat(p).catch(() => undefined);
  if (!stat) throw new Error(`${p} not found`);
  let file = p;
  if (stat.isDirectory()) {
    const bundles = (await fs.readdir(p)).filter((f) => f.endsWith('.bundle'));
    if (bundles.length !== 1) throw new Error(`${p} holds ${bundles.length} .bundle files; name the one to open`);
    file = path.join(p, bundles[0]);
  }
  return store.importBundle(file);
}
