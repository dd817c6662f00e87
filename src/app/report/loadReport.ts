// The report writer is its own bundle (out/report.js): Vega and Vega-Lite are most of its size,
// and the extension host and the CLI load them only when a report is written.
import * as path from 'node:path';

type ReportModule = typeof import('./writeReport');

export function loadReportWriter(): ReportModule {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require(path.join(__dirname, 'report.js')) as ReportModule;
}
