// selfdev report: a run's report as a folder: report.md and report.html (self-contained, the
// figures inline), the figures as SVG and PNG with their Vega-Lite specifications, and
// report.json with the figures' data, in a new folder that appears only when complete.
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import type { RunFiles } from '../../core/run/runFiles';
import { reportFigures, renderPng, renderSvg } from './reportCharts';
import { collectReport, type ReportData } from './reportData';
import { reportBlocks, toHtml, toMarkdown } from './reportDocument';
import { writeNewFolder } from '../newFolder';

export interface WrittenReport {
  folder: string;
  files: string[];
  /** Why there are no PNG figures, when there are none. */
  pngProblem?: string;
  data: ReportData;
}

export async function writeReport(files: RunFiles, head: { commit: string; dirty: boolean }, out: string, version: string): Promise<WrittenReport> {
  const data = await collectReport(files, head, version);
  const figures = reportFigures(data);
  const { folder, result } = await writeNewFolder(out, 'a report', async (dir) => {
    const written: string[] = [];
    const put = async (rel: string, content: string | Buffer) => {
      await fs.writeFile(path.join(dir, rel), content);
      written.push(rel);
    };
    await fs.mkdir(path.join(dir, 'figures'));
    const svgs: Record<string, string> = {};
    let pngProblem: string | undefined;
    for (const f of figures) {
      const svg = await renderSvg(f.spec);
      svgs[f.name] = svg;
      await put(`figures/${f.name}.svg`, svg);
      await put(`figures/${f.name}.vl.json`, `${JSON.stringify(f.spec, null, 1)}\n`);
      const png = renderPng(svg);
      if (typeof png === 'string') pngProblem = png;
      else await put(`figures/${f.name}.png`, png);
    }
    const blocks = reportBlocks(data, figures);
    if (pngProblem) blocks.splice(2, 0, { kind: 'paragraph', text: `The figures are SVG only: ${pngProblem}.` });
    await put('report.md', toMarkdown(blocks));
    await put('report.html', toHtml(blocks, `Run ${data.header.id}: ${data.header.name}`, svgs));
    await put('report.json', `${JSON.stringify({ run: data.header.id, commit: data.commit, uncommittedChanges: data.uncommittedChanges, madeAt: data.madeAt, version: data.version, summary: data.summary, samples: data.samples, bestSoFar: data.bestSoFar }, null, 1)}\n`);
    return { files: written.sort(), pngProblem };
  });
  return { folder, ...result, data };
}
