// Taking results out of VS Code: an algorithm's merged model as a checkpoint (on the backend's
// machine, where the models are), a run's report (Markdown and HTML with figures), and a run as
// a bundle (its branch and report) to archive or share, which Open Run Bundle… opens again.
import * as path from 'node:path';
import * as vscode from 'vscode';
import { pct } from '../../core/format';
import { requireAlgorithmRef } from '../algorithmRef';
import { RunFiles } from '../../core/run/runFiles';
import { loadReportWriter } from '../../app/report/loadReport';
import { exportRunBundle, importRunBundle } from '../../app/runBundle';
import type { LoopController } from '../loopController';
import { chooseRun, type RunContext } from '../runChoice';
import { settings } from '../settings';

/** Where the output goes: a new folder inside one the user picks (this machine), or a path
 * typed in (a remote backend's machine). */
async function askFolder(name: string, given: unknown, remote = settings.backendKind() !== 'local'): Promise<string | undefined> {
  if (typeof given === 'string' && given) return given;
  if (remote) {
    return vscode.window.showInputBox({
      title: "Export the merged model to a folder on the backend's machine",
      prompt: 'An absolute path there; the folder must not exist yet (or be empty)',
      validateInput: (v) => (path.posix.isAbsolute(v.trim()) ? undefined : 'Give an absolute path on the backend machine'),
    });
  }
  const picked = await vscode.window.showOpenDialog({
    title: `Export ${name}: choose where its checkpoint folder goes`,
    canSelectFiles: false,
    canSelectFolders: true,
    canSelectMany: false,
    openLabel: 'Export Here',
    defaultUri: vscode.workspace.workspaceFolders?.[0]?.uri,
  });
  return picked?.[0] && path.join(picked[0].fsPath, name);
}

export function exportCommands(loop: LoopController, runsDir: () => string, runs: RunContext, refresh: () => void) {
  return {
    'selfdev.exportBundle': async (arg?: unknown, out?: unknown) => {
      const run = await chooseRun(loop, runs, arg, 'Bundle which run?');
      if (!run) return undefined;
      const folder = await askFolder(`${run.id}-bundle`, out, false);
      if (!folder) return undefined;
      const store = await loop.store();
      const b = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `Self-Developing: bundling ${run.id}` }, () =>
        exportRunBundle(store, run, folder, loop.installation.version),
      );
      void vscode.window.showInformationMessage(`Self-Developing: ${run.id} (commit ${b.commit.slice(0, 12)}) bundled with its report in ${b.folder}.`, 'Reveal Folder').then((c) => {
        if (c) void vscode.commands.executeCommand('revealFileInOS', vscode.Uri.file(b.bundle));
      });
      return b;
    },
    'selfdev.openBundle': async (given?: unknown) => {
      let from = typeof given === 'string' ? given : given instanceof vscode.Uri ? given.fsPath : undefined;
      if (!from) {
        const picked = await vscode.window.showOpenDialog({
          title: 'Open a run bundle (a .bundle file, or the folder Export Run Bundle… made)',
          canSelectFiles: true,
          canSelectFolders: true,
          canSelectMany: false,
          filters: { 'Run bundles': ['bundle'] },
          openLabel: 'Open Run Bundle',
        });
        from = picked?.[0]?.fsPath;
      }
      if (!from) return undefined;
      const run = await importRunBundle(await loop.store(), from);
      refresh();
      void vscode.window.showInformationMessage(`Self-Developing: opened run ${run.id} (branch ${run.branch}).`, 'Open Results').then((c) => {
        if (c) void vscode.commands.executeCommand('selfdev.openResults', run.id);
      });
      return run.id;
    },
    'selfdev.exportReport': async (arg?: unknown, out?: unknown) => {
      const run = await chooseRun(loop, runs, arg, 'Report on which run?');
      if (!run) return undefined;
      const folder = await askFolder(`${run.id}-report`, out, false);
      if (!folder) return undefined;
      const report = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `Self-Developing: writing the report of ${run.id}` }, async () =>
        loadReportWriter().writeReport(new RunFiles(run), await run.head(), folder, loop.installation.version),
      );
      void vscode.window
        .showInformationMessage(
          `Self-Developing: the report of ${run.id} (commit ${report.data.commit.slice(0, 12)}) is in ${report.folder}${report.pngProblem ? ` (SVG figures only: ${report.pngProblem})` : ''}.`,
          'Open Report',
          'Open in Browser',
        )
        .then((c) => {
          if (c === 'Open Report') void vscode.commands.executeCommand('markdown.showPreview', vscode.Uri.file(path.join(report.folder, 'report.md')));
          if (c === 'Open in Browser') void vscode.env.openExternal(vscode.Uri.file(path.join(report.folder, 'report.html')));
        });
      return { folder: report.folder, files: report.files, commit: report.data.commit };
    },
    'selfdev.exportModel': async (arg?: unknown, out?: unknown) => {
      const ref = requireAlgorithmRef(arg, runsDir());
      const label = `${ref.iteration}/${ref.id}`;
      const folder = await askFolder(`${ref.runId}-${String(ref.iteration).padStart(2, '0')}-${ref.id}`, out);
      if (!folder) return undefined;
      const run = await loop.openRun(ref.runId);
      const result = await loop.withLoop(run, `${ref.runId}: exporting the merged model of ${label}`, (l) =>
        l.exportModel(label, { out: folder, version: loop.installation.version }),
      );
      if (!result) return undefined;
      if (result.status !== 'ok') throw new Error(`${label}: ${result.message ?? 'the export failed'}${result.detail ? ` (${result.detail})` : ''}`);
      const local = settings.backendKind() === 'local';
      void vscode.window
        .showInformationMessage(
          `Self-Developing: exported ${label} (dev ${pct(result.provenance.dev.score)}${result.provenance.test ? `, test ${pct(result.provenance.test.score)}` : ''}) to ${result.folder}: ${result.weightFiles!.length} weight file(s), ${(result.totalBytes! / 1e6).toFixed(1)} MB.`,
          ...(local ? ['Open Model Card', 'Reveal Folder'] : []),
        )
        .then((c) => {
          if (c === 'Open Model Card') void vscode.window.showTextDocument(vscode.Uri.file(path.join(result.folder!, 'README.md')));
          if (c === 'Reveal Folder') void vscode.commands.executeCommand('revealFileInOS', vscode.Uri.file(result.folder!));
        });
      return result;
    },
  };
}
