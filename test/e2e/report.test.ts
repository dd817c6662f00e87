// A run's HTML report in Chromium: made by `selfdev report` on a small real run (demo models),
// opened from disk, it shows its figures and tables without a console error or a CSP violation
// (the page allows no script at all). The screenshot lands in test-output/e2e/report.png.
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import { launchChromium, watchErrors } from '../harness/panelPage';
import { repoRoot, testOutput } from '../harness/paths';
import { writeDemoConfig } from '../harness/smallConfig';

const cli = path.join(repoRoot, 'out', 'cli.js');
const selfdev = (cwd: string, ...args: string[]) => {
  const r = spawnSync(process.execPath, [cli, ...args], { cwd, encoding: 'utf8', timeout: 600_000 });
  assert.equal(r.status, 0, `selfdev ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
};

describe('the HTML report in a browser', () => {
  let browser: Browser;
  let report: string;

  before(async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'selfdev-e2e-report-'));
    const runs = path.join(dir, 'runs');
    const config = writeDemoConfig(path.join(dir, 'small.selfdev.json'), path.join(repoRoot, 'resources', 'demo'), { randomControl: true });
    selfdev(dir, 'new', config, '--runs', runs, '--id', 'r');
    selfdev(dir, 'iterate', 'r', '--runs', runs, '-n', '2');
    report = path.join(dir, 'report');
    selfdev(dir, 'report', 'r', '--runs', runs, '--out', report);
    browser = await launchChromium();
  });

  after(async () => {
    await browser?.close();
  });

  it('opens without console errors, with its figures drawn and its tables filled', async () => {
    const page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
    const errors = watchErrors(page);
    const csp: string[] = [];
    page.on('console', (m) => {
      if (/Content Security Policy/i.test(m.text())) csp.push(m.text());
    });
    await page.goto(pathToFileURL(path.join(report, 'report.html')).href);
    assert.equal(await page.title(), 'Run r: small');
    // Two figures, each an SVG with marks drawn and a size.
    const figures = await page.$$eval('figure svg', (svgs) => svgs.map((s) => ({ marks: s.querySelectorAll('path, line, rect, circle').length, width: s.getBoundingClientRect().width })));
    assert.equal(figures.length, 2);
    for (const f of figures) assert.ok(f.marks > 10 && f.width > 300, JSON.stringify(f));
    const rows = await page.$$eval('#table-iterations tbody tr', (trs) => trs.length);
    assert.equal(rows, 2);
    assert.ok(await page.isVisible('text=The best algorithms'));
    assert.ok(await page.isVisible('pre code.language-python'));
    mkdirSync(path.join(testOutput, 'e2e'), { recursive: true });
    await page.screenshot({ path: path.join(testOutput, 'e2e', 'report.png'), fullPage: true });
    assert.deepEqual([...errors, ...csp], []);
    await page.close();
  });
});
