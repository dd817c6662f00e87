// Results panel benchmark (npm run bench): the built webview (out/webview/main.js + main.css)
// in headless Debian Chromium, in the host's page with a stand-in for VS Code's webview API that
// answers from synthetic data (test/harness/panelPage.ts, panelData.ts). Measured side by side in
// one page: the time from posting an `iteration` message to the `selfdev:iteration-rendered` mark
// for 30, 300 and 3000 algorithms (median of several repeats, a fresh iteration each time), and
// scrolling the 3000-row table end to end.
//
//   node out/test/bench/panel.js [--repeats N] [--screenshots DIR]
//
// --screenshots also writes light, dark and high-contrast screenshots of the panel to DIR.
// Exits non-zero on errors only (page errors, CSP violations, a view that never renders),
// never on slowness. Builds nothing: run esbuild first (npm run bench does). The panel's
// behaviour is tested in test/e2e/panel.test.ts.
import { mkdir } from 'node:fs/promises';
import * as path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { cspViolations, encodeState, launchChromium, startHarness, watchErrors, type Harness, type StandInWindow } from '../harness/panelPage';
import { THEMES } from '../harness/panelThemes';
import { benchFixture, demoFixture, emptyFixture } from './panelData';

const SIZES = [30, 300, 3000];
const TARGET_MS = 300;

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const ms = (v: number) => `${v.toFixed(1)} ms`;

interface RenderRecord {
  size: number;
  toMark: number;
  toFrame: number;
}

async function renderBench(page: Page, h: Harness, repeats: number): Promise<RenderRecord[]> {
  const total = SIZES.length * (repeats + 1);
  await page.goto(h.url({ fixture: 'bench', theme: 'dark', state: encodeState({ runId: 'bench', iteration: 1 }) }));
  await page.waitForSelector('body[data-rendered-iteration="1"]', { timeout: 30_000 });
  for (let it = 2; it <= total; it++) {
    await page.click('[data-action="next"]');
    await page.waitForSelector(`body[data-rendered-iteration="${it}"]`, { timeout: 30_000 });
    // Let the next frame happen before the next step, as a person stepping would.
    await page.waitForFunction((k) => (window as unknown as StandInWindow).__selfdev.rendered[k]?.frame !== undefined, String(it));
  }
  const raw = await page.evaluate(() => {
    const api = (window as unknown as StandInWindow).__selfdev;
    return api.timings.map((t) => ({ ...t, mark: api.rendered[String(t.iteration)]?.mark, frame: api.rendered[String(t.iteration)]?.frame }));
  });
  // The first round (one iteration of each size) warms up the page and is left out.
  return raw
    .filter((r) => r.iteration > SIZES.length && r.mark !== undefined)
    .map((r) => ({ size: r.size, toMark: r.mark! - r.t0, toFrame: (r.frame ?? r.mark!) - r.t0 }));
}

interface ScrollResult {
  rows: number;
  frames: number;
  totalMs: number;
  medianFrame: number;
  worstFrame: number;
  longTasks: number;
  maxRowsInDom: number;
  reachedEnd: boolean;
  wheelFrames: number;
  wheelMedianFrame: number;
  wheelWorstFrame: number;
}

/**
 * Scrolls the table one viewport per frame from top to bottom (the fastest a person can fling
 * it: every frame shows only new rows), recording frame intervals; then 150 frames of 120 px
 * (one wheel notch) per frame, the everyday case.
 */
async function scrollBench(page: Page): Promise<ScrollResult> {
  return page.evaluate(async () => {
    const table = document.querySelector<HTMLElement>('.algo-table')!;
    const frame = () => new Promise<number>((r) => requestAnimationFrame(() => r(performance.now())));
    let longTasks = 0;
    const obs = new PerformanceObserver((l) => (longTasks += l.getEntries().length));
    try {
      obs.observe({ type: 'longtask', buffered: false });
    } catch {
      // longtask entries are not available everywhere
    }
    table.scrollTop = 0;
    await frame();
    await frame();
    const max = table.scrollHeight - table.clientHeight;
    const step = table.clientHeight;
    const intervals: number[] = [];
    let maxRows = 0;
    const start = await frame();
    let last = start;
    while (table.scrollTop < max - 1) {
      table.scrollTop = Math.min(max, table.scrollTop + step);
      const now = await frame();
      intervals.push(now - last);
      last = now;
      maxRows = Math.max(maxRows, table.querySelectorAll('.algo-row').length);
    }
    await frame();
    const lastIndexAtEnd = Math.max(...Array.from(table.querySelectorAll('.algo-row'), (r) => Number(r.getAttribute('aria-rowindex'))));
    table.scrollTop = 0;
    await frame();
    await frame();
    const wheel: number[] = [];
    let prev = await frame();
    for (let i = 0; i < 150; i++) {
      table.scrollTop += 120;
      const now = await frame();
      wheel.push(now - prev);
      prev = now;
    }
    wheel.sort((a, b) => a - b);
    obs.disconnect();
    const rowCount = Number(table.getAttribute('aria-rowcount')) - 1;
    const lastIndex = lastIndexAtEnd;
    const sorted = [...intervals].sort((a, b) => a - b);
    return {
      rows: rowCount,
      frames: intervals.length,
      totalMs: last - start,
      medianFrame: sorted[Math.floor(sorted.length / 2)] ?? 0,
      worstFrame: sorted.at(-1) ?? 0,
      longTasks,
      maxRowsInDom: maxRows,
      reachedEnd: lastIndex === rowCount + 1,
      wheelFrames: wheel.length,
      wheelMedianFrame: wheel[Math.floor(wheel.length / 2)] ?? 0,
      wheelWorstFrame: wheel.at(-1) ?? 0,
    };
  });
}

async function screenshots(browser: Browser, h: Harness, dir: string): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const errors: string[] = [];
  const demo = demoFixture();
  const failed = demo.iterations.demo[2].algorithms.find((r) => r.status === 'failed')!;
  const best = demo.iterations.demo[2].algorithms.find((r) => r.best)!;
  for (const theme of Object.keys(THEMES)) {
    const page = await browser.newPage({ viewport: { width: 1440, height: 1100 } });
    errors.push(...watchErrors(page));
    const shoot = async (name: string, state: object, fixture = 'demo', after?: () => Promise<void>) => {
      await page.goto(h.url({ fixture, theme, state: encodeState(state) }));
      if (fixture !== 'empty') await page.waitForSelector('body[data-rendered-iteration]', { timeout: 30_000 });
      else await page.waitForSelector('.empty-state:not([hidden])');
      if (after) await after();
      await page.waitForTimeout(150);
      await page.screenshot({ path: path.join(dir, `${name}-${theme}.png`), fullPage: true });
      errors.push(...(await cspViolations(page)));
    };
    await shoot('algorithms', { runId: 'demo', iteration: 2, selectedId: best.id }, 'demo', async () => {
      await page.waitForSelector(`.detail[data-id="${best.id}"] pre code`);
      await page.focus('.algo-table');
    });
    await shoot('failed', { runId: 'demo', iteration: 2, selectedId: failed.id, sortKey: 'status', sortDir: 'desc' }, 'demo', async () => {
      await page.waitForSelector(`.detail[data-id="${failed.id}"] .detail-error`);
    });
    await shoot('pairs', { runId: 'demo', iteration: 2, tab: 'pairs', selectedPair: 0 }, 'demo', async () => {
      await page.waitForSelector('.pair-detail .chosen pre');
    });
    await shoot('empty', {}, 'empty');
    await page.close();
  }
  const narrow = await browser.newPage({ viewport: { width: 820, height: 1000 } });
  errors.push(...watchErrors(narrow));
  await narrow.goto(h.url({ fixture: 'demo', theme: 'dark', state: encodeState({ runId: 'gsm-7b-ties', iteration: 3, selectedId: 'a0700' }) }));
  await narrow.waitForSelector('body[data-rendered-iteration="3"]');
  await narrow.waitForTimeout(200);
  await narrow.screenshot({ path: path.join(dir, 'narrow-dark.png'), fullPage: true });
  await narrow.close();
  return errors;
}

function report(browser: Browser, repeats: number, records: RenderRecord[], scroll: ScrollResult): void {
  const medianOf = (s: number, f: (r: RenderRecord) => number) => median(records.filter((r) => r.size === s).map(f));
  const mark = new Map(SIZES.map((s) => [s, medianOf(s, (r) => r.toMark)]));
  const frame = new Map(SIZES.map((s) => [s, medianOf(s, (r) => r.toFrame)]));
  console.log(`\nresults panel in headless Chromium ${browser.version()}`);
  console.log(`1. rendering an iteration: post \`iteration\` -> selfdev:iteration-rendered (median of ${repeats}, a fresh iteration each time)`);
  for (const s of SIZES) console.log(`   ${String(s).padStart(5)} algorithms: ${ms(mark.get(s)!).padStart(9)}   (to the next frame ${ms(frame.get(s)!)})`);
  const big = SIZES.at(-1)!;
  const small = SIZES[0];
  console.log(`   ratio ${big} vs ${small}: ${(mark.get(big)! / mark.get(small)!).toFixed(1)}x (to the next frame ${(frame.get(big)! / frame.get(small)!).toFixed(1)}x)`);
  console.log(`   ${big} algorithms render in under ${TARGET_MS} ms: ${mark.get(big)! < TARGET_MS ? 'yes' : 'NO'} (${ms(mark.get(big)!)})`);
  console.log(`2. scrolling the ${scroll.rows}-row table end to end, one viewport per frame`);
  console.log(
    `   ${scroll.frames} frames in ${ms(scroll.totalMs)}: median frame ${ms(scroll.medianFrame)}, worst ${ms(scroll.worstFrame)}; at most ${scroll.maxRowsInDom} rows in the DOM; reached the last row: ${scroll.reachedEnd ? 'yes' : 'NO'}`,
  );
  console.log(`   then ${scroll.wheelFrames} frames of 120 px (one wheel notch each): median frame ${ms(scroll.wheelMedianFrame)}, worst ${ms(scroll.wheelWorstFrame)}; ${scroll.longTasks} long tasks (over 50 ms) in both`);
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const arg = (name: string) => {
    const i = argv.indexOf(name);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const repeats = Math.max(1, Number(arg('--repeats') ?? 5));
  const shotsDir = arg('--screenshots');

  const h = await startHarness({ bench: benchFixture(SIZES, repeats + 1), demo: demoFixture(), empty: emptyFixture() });
  const browser = await launchChromium();
  const errors: string[] = [];
  try {
    const page = await browser.newPage({ viewport: { width: 1440, height: 1000 } });
    errors.push(...watchErrors(page));
    const records = await renderBench(page, h, repeats);
    const scroll = await scrollBench(page);
    errors.push(...(await cspViolations(page)));
    await page.close();
    report(browser, repeats, records, scroll);
    if (!scroll.reachedEnd) errors.push('scrolling did not render the last row');
    if (shotsDir) {
      errors.push(...(await screenshots(browser, h, path.resolve(shotsDir))));
      console.log(`screenshots written to ${path.resolve(shotsDir)}`);
    }
  } finally {
    await browser.close();
    await h.close();
  }
  if (errors.length) {
    for (const e of errors) console.error(e);
    process.exitCode = 1;
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
