// The results panel in headless Chromium: the built webview (out/webview) in the host's real page,
// with a stand-in for VS Code's webview API answering from synthetic data
// (test/harness/panelPage.ts, test/bench/panelData.ts). The real API is driven, inside VS Code,
// by workbench.test.ts. One Chromium and one page server for the file; a fresh page per test.
// Screenshots land in test-output/e2e/panel-<theme>.png.
import * as assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import * as path from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import type { AlgorithmRow } from '../../src/protocol/webviewMessages';
import { demoFixture, emptyFixture } from '../bench/panelData';
import { cspViolations, encodeState, hostOf, launchChromium, startHarness, watchErrors, type Harness, type StandInWindow } from '../harness/panelPage';
import { THEMES } from '../harness/panelThemes';
import { testOutput } from '../harness/paths';

const shots = path.join(testOutput, 'e2e');
const demo = demoFixture();
const GSM = 'gsm-7b-ties';
const rowsOf = (runId: string, iteration: number): AlgorithmRow[] => demo.iterations[runId][iteration].algorithms;

interface Query {
  fixture?: 'demo' | 'empty';
  theme?: string;
  /** What an earlier page saved (VS Code hands it to the new page after hide/show). */
  state?: object;
}

/** One panel page and the host's side of it. */
class Panel {
  readonly errors: string[];
  readonly host: ReturnType<typeof hostOf>;

  constructor(
    readonly page: Page,
    private readonly h: Harness,
  ) {
    this.errors = watchErrors(page);
    this.host = hostOf(page);
    page.setDefaultTimeout(15_000);
  }

  /** A new page load: as VS Code recreates the webview when the panel is shown again. */
  async load({ fixture = 'demo', theme = 'dark', state }: Query = {}): Promise<void> {
    if (this.page.url() !== 'about:blank') this.errors.push(...(await cspViolations(this.page)));
    await this.page.goto(this.h.url({ fixture, theme, ...(state ? { state: encodeState(state) } : {}) }));
  }

  rendered(iteration: number): Promise<unknown> {
    return this.page.waitForSelector(`body[data-rendered-iteration="${iteration}"]`);
  }

  /** The table's row at position i of the sorted, filtered view. */
  row(i: number): string {
    return `.algo-row[aria-rowindex="${i + 2}"]`;
  }

  /** Ids of the rows in the DOM, in view order (the table recycles row elements). */
  shownIds(): Promise<string[]> {
    return this.page.$$eval('.algo-row', (rs) =>
      rs
        .map((r) => [Number(r.getAttribute('aria-rowindex')), r.getAttribute('data-id') ?? ''] as const)
        .sort((a, b) => a[0] - b[0])
        .map(([, id]) => id),
    );
  }

  text(selector: string): Promise<string> {
    return this.page.textContent(selector).then((t) => t ?? '');
  }

  /** Waits until the panel has posted more than n messages; returns the new ones. */
  async postedAfter(n: number, more = 1): Promise<Record<string, unknown>[]> {
    await this.page.waitForFunction(([n0, k]) => (window as unknown as StandInWindow).__selfdev.posted.length >= n0 + k, [n, more] as const);
    return (await this.host.posted()).slice(n);
  }

  /** Does `action` and checks that the panel posts nothing in response. */
  async postsNothing(action: () => Promise<unknown>, message?: string): Promise<void> {
    const n = (await this.host.posted()).length;
    await action();
    await this.page.waitForTimeout(150);
    assert.deepEqual((await this.host.posted()).slice(n), [], message);
  }

  async close(): Promise<string[]> {
    const problems = [...this.errors, ...(await cspViolations(this.page).catch(() => []))];
    await this.page.close();
    return problems;
  }
}

const sorted = <T>(xs: T[], cmp: (a: T, b: T) => number) => [...xs].sort(cmp);
const byId = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
/** A row well inside the viewport (the DOM also holds a few rows above and below it). */
const middle = (ids: string[]) => ids[Math.floor(ids.length / 2)];

function rgb(hex: string): string {
  const n = parseInt(hex.slice(1), 16);
  return `rgb(${(n >> 16) & 255}, ${(n >> 8) & 255}, ${n & 255})`;
}

describe('the results panel in a browser', { timeout: 120_000 }, () => {
  let h: Harness;
  let browser: Browser;
  let open: Panel[] = [];
  /** Errors and CSP violations of every page a test opened (checked by the last tests). */
  const problems: string[] = [];

  before(async () => {
    mkdirSync(shots, { recursive: true });
    h = await startHarness({ demo, empty: emptyFixture() });
    browser = await launchChromium();
  });

  after(async () => {
    await browser?.close();
    await h?.close();
  });

  afterEach(async () => {
    for (const p of open) problems.push(...(await p.close()));
    open = [];
  });

  async function panel(query: Query = {}, viewport = { width: 1400, height: 1000 }): Promise<Panel> {
    const p = new Panel(await browser.newPage({ viewport }), h);
    open.push(p);
    await p.load(query);
    return p;
  }

  it('asks for the runs, the first run and its latest iteration, and renders it', async () => {
    const p = await panel();
    await p.rendered(3);
    const posted = await p.host.posted();
    assert.deepEqual(posted, [{ t: 'ready' }, { t: 'selectRun', runId: 'demo' }, { t: 'selectIteration', runId: 'demo', iteration: 3 }]);
    assert.equal(await p.text('.iteration-label'), 'Iteration 3 of 3');
    assert.equal(await p.text('.algo-count'), '48 algorithms');
    assert.equal(await p.page.getAttribute('.algo-table', 'aria-rowcount'), '49');
    assert.equal(await p.text('#tab-algorithms .tab-count'), '48');
    const s = await p.host.state();
    assert.deepEqual([s.runId, s.iteration, s.tab], ['demo', 3, 'algorithms']);
  });

  it('sorts by a column header, toggling the direction, and saves the sort', async () => {
    const p = await panel();
    await p.rendered(3);
    const ids = rowsOf('demo', 3).map((r) => r.id);
    await p.page.click('.algo-th[data-sort="id"] button');
    assert.equal(await p.page.getAttribute('.algo-th[data-sort="id"]', 'aria-sort'), 'ascending');
    let shown = await p.shownIds();
    assert.deepEqual(shown, sorted(ids, byId).slice(0, shown.length));
    assert.deepEqual([(await p.host.state()).sortKey, (await p.host.state()).sortDir], ['id', 'asc']);
    await p.page.click('.algo-th[data-sort="id"] button');
    assert.equal(await p.page.getAttribute('.algo-th[data-sort="id"]', 'aria-sort'), 'descending');
    shown = await p.shownIds();
    assert.deepEqual(shown, sorted(ids, byId).reverse().slice(0, shown.length));
    assert.equal((await p.host.state()).sortDir, 'desc');
    // Scores sort best first; unscored rows (failed, pending) last either way.
    await p.page.click('.algo-th[data-sort="score"] button');
    const score = new Map(rowsOf('demo', 3).map((r) => [r.id, r.score ?? -1]));
    shown = await p.shownIds();
    const scores = shown.map((id) => score.get(id)!);
    assert.deepEqual(scores, sorted(scores, (a, b) => b - a));
    assert.equal(scores[0], Math.max(...score.values()));
    assert.deepEqual([(await p.host.state()).sortKey, (await p.host.state()).sortDir], ['score', 'desc']);
  });

  it('filters by text and by status, and saves the filters', async () => {
    const p = await panel();
    await p.rendered(3);
    const rows = rowsOf('demo', 3);
    const slerp = rows.filter((r) => r.summary!.toLowerCase().includes('slerp'));
    await p.page.fill('.algo-filter input', 'SLERP');
    assert.equal(await p.text('.algo-count'), `48 algorithms, ${slerp.length} shown`);
    assert.deepEqual(sorted(await p.shownIds(), byId), slerp.map((r) => r.id).sort(byId));
    assert.equal((await p.host.state()).filter, 'SLERP');
    await p.page.fill('.algo-filter input', '');
    assert.equal(await p.text('.algo-count'), '48 algorithms');

    const pending = rows.filter((r) => r.status === 'pending');
    await p.page.click('.algo-status-filter');
    await p.page.click('.algo-status-filter vscode-option[value="pending"]');
    await p.host.saved('statusFilter', 'pending');
    assert.equal(await p.text('.algo-count'), `48 algorithms, ${pending.length} shown`);
    assert.deepEqual(await p.page.$$eval('.algo-row .status-text', (c) => [...new Set(c.map((x) => x.textContent))]), ['pending']);
    await p.page.click('.algo-status-filter');
    await p.page.click('.algo-status-filter vscode-option[value="all"]');
    await p.host.saved('statusFilter', 'all');
    assert.equal(await p.text('.algo-count'), '48 algorithms');
  });

  it('selects a row by click and by the arrow keys, asking for its detail and showing it', async () => {
    const p = await panel({ state: { runId: 'demo', iteration: 2 } });
    await p.rendered(2);
    const [first, second] = (await p.shownIds()).slice(0, 2);
    const selects = async (id: string) => {
      const rd = await p.host.last('requestDetail');
      assert.deepEqual({ ...rd, requestId: 0 }, { t: 'requestDetail', requestId: 0, runId: 'demo', iteration: 2, id });
      assert.equal(await p.page.getAttribute(`.algo-row[data-id="${id}"]`, 'aria-selected'), 'true');
      assert.equal(await p.page.$$eval('.algo-row[aria-selected="true"]', (r) => r.length), 1);
      const code = await p.page.waitForSelector(`.detail[data-id="${id}"] pre code`);
      assert.match((await code.textContent()) ?? '', new RegExp(`^# ${id}: `));
      assert.equal((await p.host.state()).selectedId, id);
    };
    await p.page.click(`${p.row(0)} .col-summary`);
    await selects(first);
    await p.page.keyboard.press('ArrowDown');
    await p.page.waitForSelector(`.algo-row[data-id="${second}"][aria-selected="true"]`);
    await selects(second);
    await p.page.keyboard.press('ArrowUp');
    await p.page.waitForSelector(`.algo-row[data-id="${first}"][aria-selected="true"]`);
    await selects(first);
  });

  it("shows every score of an edited algorithm with why and the commit, and marks its summary as the generated one's", async () => {
    const p = await panel({ state: { runId: 'demo', iteration: 2 } });
    await p.rendered(2);
    const edited = rowsOf('demo', 2).find((r) => r.edited && r.status === 'ok' && r.summary);
    assert.ok(edited, 'the fixture has an edited algorithm');
    await p.page.fill('.algo-filter input', edited.id);
    await p.page.click(`.algo-row[data-id="${edited.id}"] .col-summary`);
    await p.page.waitForSelector(`.detail[data-id="${edited.id}"] .history`);
    const rows = await p.page.$$eval('.detail .history tbody tr', (trs) => trs.map((tr) => Array.from(tr.querySelectorAll('td'), (td) => td.textContent)));
    assert.equal(rows.length, 2);
    assert.deepEqual(rows.map((r) => [r[1], r[3]]), [['first score', '3f2a9c1'], ['edit (now)', '9b04e77']]);
    assert.match(rows[1][2] ?? '', /^\d+\.\d%$/);
    assert.match(rows[0][0] ?? '', /^\d{4}-\d\d-\d\d \d\d:\d\d$/);
    assert.equal(await p.page.textContent('.detail .detail-summary .tag-stale'), 'as generated');
    await p.page.screenshot({ path: path.join(shots, 'panel-score-history.png') });
  });

  it('posts openAlgorithm from the row link and the detail, and veto or undo from the detail', async () => {
    const p = await panel({ state: { runId: 'demo', iteration: 2 } });
    await p.rendered(2);
    const [id] = await p.shownIds();
    await p.page.click(`.algo-row[data-id="${id}"] a.algo-open`);
    assert.deepEqual(await p.host.last('openAlgorithm'), { t: 'openAlgorithm', runId: 'demo', iteration: 2, id });
    await p.page.click(`.algo-row[data-id="${id}"] .col-summary`);
    await p.page.waitForSelector(`.detail[data-id="${id}"] pre code`);
    const n = (await p.host.posted()).length;
    await p.page.click('.detail [data-action="open"]');
    assert.deepEqual(await p.postedAfter(n), [{ t: 'openAlgorithm', runId: 'demo', iteration: 2, id }]);
    await p.page.click('.detail [data-action="veto"]');
    assert.deepEqual(await p.host.last('veto'), { t: 'veto', runId: 'demo', iteration: 2, id, undo: false });
    // A scored algorithm can be exported as a checkpoint; the header exports the run's report.
    await p.page.click('.detail [data-action="export-model"]');
    assert.deepEqual(await p.host.last('exportModel'), { t: 'exportModel', runId: 'demo', iteration: 2, id });
    await p.page.click('.header-actions [data-command="selfdev.exportReport"]');
    assert.deepEqual(await p.host.last('command'), { t: 'command', command: 'selfdev.exportReport', runId: 'demo' });
    const failed = rowsOf('demo', 2).find((r) => r.status === 'failed')!;
    await p.page.fill('.algo-filter input', failed.id);
    await p.page.click(`.algo-row[data-id="${failed.id}"] .col-summary`);
    await p.page.waitForSelector(`.detail[data-id="${failed.id}"]`);
    assert.equal(await p.page.$('.detail [data-action="export-model"]'), null, 'a failed algorithm has no merged model to export');

    const vetoed = rowsOf('demo', 2).find((r) => r.vetoed)!;
    await p.page.fill('.algo-filter input', vetoed.id);
    await p.page.click(`.algo-row[data-id="${vetoed.id}"] .col-summary`);
    await p.page.waitForSelector(`.detail[data-id="${vetoed.id}"] pre code`);
    assert.equal(await p.text('.detail [data-action="veto"]'), 'Undo Veto');
    await p.page.click('.detail [data-action="veto"]');
    assert.deepEqual(await p.host.last('veto'), { t: 'veto', runId: 'demo', iteration: 2, id: vetoed.id, undo: true });
  });

  it('steps through iterations with the arrow keys, but not while typing in a text field', async () => {
    const p = await panel();
    await p.rendered(3);
    await p.page.click(`${p.row(0)} .col-summary`);
    await p.page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
    await p.page.keyboard.press('ArrowLeft');
    await p.rendered(2);
    assert.deepEqual(await p.host.last('selectIteration'), { t: 'selectIteration', runId: 'demo', iteration: 2 });
    assert.equal(await p.text('.iteration-label'), 'Iteration 2 of 3');
    assert.equal((await p.host.state()).selectedId, undefined, 'stepping starts the selection over');
    assert.equal(await p.page.$('.algo-row[aria-selected="true"]'), null);
    await p.page.keyboard.press('ArrowRight');
    await p.rendered(3);
    // At the last iteration, and inside the filter field: no step.
    await p.postsNothing(() => p.page.keyboard.press('ArrowRight'), 'a step past the last iteration');
    await p.page.focus('.algo-filter input');
    await p.postsNothing(() => p.page.keyboard.press('ArrowLeft'), 'a step from an arrow key in the filter field');
    assert.equal((await p.host.state()).iteration, 3);
  });

  it('steps with the Previous and Next buttons and the slider, disabling them at the ends', async () => {
    const p = await panel();
    await p.rendered(3);
    assert.equal(await p.page.getAttribute('[data-action="next"]', 'disabled'), '');
    await p.page.click('[data-action="prev"]');
    await p.rendered(2);
    await p.page.click('[data-action="prev"]');
    await p.rendered(1);
    assert.equal(await p.text('.iteration-label'), 'Iteration 1 of 3');
    assert.equal(await p.page.getAttribute('[data-action="prev"]', 'disabled'), '');
    assert.equal(await p.page.getAttribute('[data-action="next"]', 'disabled'), null);
    await p.postsNothing(() => p.page.click('[data-action="prev"]', { force: true }), 'a disabled button posted');
    await p.page.$eval('input.iteration-slider', (el) => {
      const s = el as HTMLInputElement;
      s.value = '2';
      s.dispatchEvent(new Event('input', { bubbles: true }));
    });
    await p.rendered(3);
    assert.deepEqual(await p.host.last('selectIteration'), { t: 'selectIteration', runId: 'demo', iteration: 3 });
  });

  it('at a laptop width, stacks the detail and the pair under their lists and brings a clicked one into view', async () => {
    const p = await panel({}, { width: 1100, height: 760 });
    await p.rendered(3);
    const inView = (sel: string) =>
      p.page.$eval(sel, (node) => {
        const r = node.getBoundingClientRect();
        return r.top >= 0 && r.top < window.innerHeight - 40;
      });
    const box = (sel: string) => p.page.$eval(sel, (node) => node.getBoundingClientRect().toJSON() as DOMRect);
    assert.ok((await box('.detail')).top > (await box('.algo-section')).bottom - 1, 'stacked: the detail is below the table');
    assert.equal(await inView('.detail'), false, 'the detail starts out of sight');
    const comesIntoView = (page: Page, sel: string) =>
      page.waitForFunction((s) => {
        const r = document.querySelector(s)!.getBoundingClientRect();
        return r.top >= 0 && r.top < window.innerHeight - 40;
      }, sel);
    await p.page.click('.algo-row >> nth=2');
    await p.page.waitForSelector('.detail .detail-title');
    await comesIntoView(p.page, '.detail');
    await p.page.screenshot({ path: path.join(shots, 'panel-laptop-detail.png') });
    // Arrow keys stay in the table: the page does not jump down to the detail.
    await p.page.$eval('.algo-row.is-selected', (n) => n.scrollIntoView({ block: 'start' }));
    await p.page.$eval('.algo-table', (n) => (n as HTMLElement).focus({ preventScroll: true }));
    const before = await p.page.evaluate(() => window.scrollY);
    await p.page.keyboard.press('ArrowDown');
    await p.page.waitForSelector('.detail .detail-title');
    await p.page.waitForTimeout(400);
    assert.ok((await p.page.evaluate(() => window.scrollY)) <= before + 60, 'the page did not jump to the detail');
    // The pairs (a run with many): the same.
    const q = await panel({ state: { runId: GSM, iteration: 3 } }, { width: 1100, height: 760 });
    await q.rendered(3);
    await q.page.click('[data-tab="pairs"]');
    await q.page.evaluate(() => window.scrollTo(0, 0));
    assert.equal(await q.page.$eval('.pair-detail', (n) => n.getBoundingClientRect().top < window.innerHeight - 40), false, 'the pair view starts out of sight');
    await q.page.click('.pair[data-index="1"] .pair-why');
    await q.page.waitForSelector('.pair-detail[data-index="1"] .chosen pre');
    await comesIntoView(q.page, '.pair-detail');
    await q.page.screenshot({ path: path.join(shots, 'panel-laptop-pair.png') });
    // Wide, the detail stands beside the table.
    const wide = await panel();
    await wide.rendered(3);
    const [t, d] = [await wide.page.$eval('.algo-section', (n) => n.getBoundingClientRect().right), await wide.page.$eval('.detail', (n) => n.getBoundingClientRect().left)];
    assert.ok(d >= t, 'side by side at 1400 px');
  });

  it('disables Veto Pair with the reason where the iteration is refined, and shows a failed veto beside the control', async () => {
    const p = await panel({ state: { runId: GSM, iteration: 1 } });
    await p.rendered(1);
    await p.page.click('[data-tab="pairs"]');
    await p.page.click('.pair[data-index="0"] .pair-why');
    await p.page.waitForSelector('.pair-detail[data-index="0"] .chosen pre');
    const veto = '.pair-detail [data-action="veto-pair"]';
    assert.equal(await p.page.getAttribute(veto, 'disabled'), '');
    assert.match((await p.page.getAttribute(veto, 'title')) ?? '', /^iteration 1 is already refined with these pairs; veto 1\/a\d+ or \S+ to keep them out/);
    assert.match((await p.page.textContent('.pair-detail .pair-locked')) ?? '', /^Iteration 1 is already refined with these pairs; veto .* later refinements\.$/);
    await p.postsNothing(() => p.page.click(veto, { force: true }), 'a disabled Veto Pair posts nothing');
    await p.page.screenshot({ path: path.join(shots, 'panel-pair-refined.png') });
    // Where it can work, a refusal from the extension shows beside the control, not in the banner.
    const q = await panel({ state: { runId: GSM, iteration: 3 } });
    await q.rendered(3);
    await q.page.click('[data-tab="pairs"]');
    await q.page.click('.pair[data-index="0"] .pair-why');
    await q.page.waitForSelector('.pair-detail[data-index="0"] .chosen pre');
    assert.equal(await q.page.getAttribute(veto, 'disabled'), null);
    assert.equal(await q.page.$('.pair-detail .pair-locked'), null);
    await q.page.click(veto);
    await q.host.send({ t: 'error', message: 'run gsm-7b-ties is in progress; stop it first', action: 'vetoPair' });
    await q.page.waitForSelector('.pair-detail .pair-action-error');
    assert.equal(await q.page.textContent('.pair-detail .pair-action-error'), 'run gsm-7b-ties is in progress; stop it first');
    assert.equal(await q.page.isVisible('.error-banner'), false, 'not in the banner at the top, out of sight');
  });

  it('lists the preference pairs, shows a pair side by side, and vetoes or restores it', async () => {
    const p = await panel({ state: { runId: GSM, iteration: 3 } });
    await p.rendered(3);
    const pairs = demo.iterations[GSM][3].pairs;
    await p.page.click('[data-tab="pairs"]');
    assert.equal((await p.host.state()).tab, 'pairs');
    assert.equal(await p.page.$$eval('.pair[data-index]', (r) => r.length), pairs.length);
    const showsPair = async (index: number) => {
      const rp = await p.host.last('requestPair');
      assert.deepEqual({ ...rp, requestId: 0 }, { t: 'requestPair', requestId: 0, runId: GSM, iteration: 3, index });
      const d = demo.pairs[`${GSM}/3/${index}`];
      assert.equal(await p.page.textContent('.pair-detail .chosen pre'), d.chosen.code);
      assert.equal(await p.page.textContent('.pair-detail .rejected pre'), d.rejected.code);
      assert.equal(await p.page.getAttribute(`.pair[data-index="${index}"]`, 'aria-selected'), 'true');
    };
    const vetoed = pairs.find((x) => x.vetoed)!;
    const kept = pairs.find((x) => !x.vetoed && x.index > 0)!;
    await p.page.click(`.pair[data-index="${kept.index}"] .pair-why`);
    await p.page.waitForSelector(`.pair-detail[data-index="${kept.index}"] .chosen pre`);
    await showsPair(kept.index);
    await p.page.click('.pair-detail [data-action="veto-pair"]');
    assert.deepEqual(await p.host.last('vetoPair'), { t: 'vetoPair', runId: GSM, iteration: 3, index: kept.index, undo: false });
    await p.page.focus('.pair-list');
    await p.page.keyboard.press('ArrowDown');
    await p.page.waitForSelector(`.pair-detail[data-index="${kept.index + 1}"] .rejected pre`);
    await showsPair(kept.index + 1);
    await p.page.click(`.pair[data-index="${vetoed.index}"] .pair-why`);
    await p.page.waitForSelector(`.pair-detail[data-index="${vetoed.index}"] .chosen pre`);
    await p.page.click('.pair-detail [data-action="veto-pair"]');
    assert.deepEqual(await p.host.last('vetoPair'), { t: 'vetoPair', runId: GSM, iteration: 3, index: vetoed.index, undo: true });
    // A pair's reference opens that algorithm, in its own iteration.
    const [it, id] = pairs[0].chosen.split('/');
    await p.page.click(`.pair[data-index="0"] a.pair-ref[data-ref="${pairs[0].chosen}"]`);
    assert.deepEqual(await p.host.last('openAlgorithm'), { t: 'openAlgorithm', runId: GSM, iteration: Number(it), id });
  });

  it('restores iteration, sort, filter, selection, scroll and tab on a new page (hide/show)', async () => {
    const p = await panel({ state: { runId: GSM, iteration: 2 } });
    await p.rendered(2);
    await p.page.click('.algo-th[data-sort="temperature"] button');
    await p.page.fill('.algo-filter input', 'a0');
    await p.page.$eval('.algo-table', (t) => (t.scrollTop = 2400));
    await p.host.saved('tableScrollTop', 2400);
    const chosen = middle(await p.shownIds());
    await p.page.click(`.algo-row[data-id="${chosen}"] .col-summary`);
    await p.page.waitForSelector(`.detail[data-id="${chosen}"] pre code`);
    const saved = await p.host.state();
    assert.equal(saved.tableScrollTop, 2400);

    await p.load({ state: saved });
    await p.rendered(2);
    assert.equal(await p.text('.iteration-label'), 'Iteration 2 of 3');
    assert.equal(await p.page.inputValue('.algo-filter input'), 'a0');
    assert.equal(await p.page.getAttribute('.algo-th[data-sort="temperature"]', 'aria-sort'), 'ascending');
    assert.equal(await p.page.getAttribute(`.algo-row[data-id="${chosen}"]`, 'aria-selected'), 'true');
    await p.page.waitForSelector(`.detail[data-id="${chosen}"] pre code`);
    assert.equal(await p.page.$eval('.algo-table', (t) => t.scrollTop), 2400);

    await p.page.click('[data-tab="pairs"]');
    await p.page.click('.pair[data-index="2"] .pair-why');
    await p.page.waitForSelector('.pair-detail[data-index="2"] .chosen pre');
    await p.load({ state: await p.host.state() });
    await p.rendered(2);
    assert.equal(await p.page.getAttribute('#tab-pairs', 'aria-selected'), 'true');
    assert.ok(await p.page.isHidden('#view-algorithms'));
    await p.page.waitForSelector('.pair-detail[data-index="2"] .chosen pre');
  });

  it('on `changed` for the shown run asks again for its overview and iteration, keeping selection and scroll', async () => {
    const p = await panel({ state: { runId: GSM, iteration: 2, tableScrollTop: 2400 } });
    await p.rendered(2);
    assert.equal(await p.page.$eval('.algo-table', (t) => t.scrollTop), 2400);
    const chosen = middle(await p.shownIds());
    await p.page.click(`.algo-row[data-id="${chosen}"] .col-summary`);
    await p.page.waitForSelector(`.detail[data-id="${chosen}"] pre code`);
    await p.postsNothing(() => p.host.send({ t: 'changed', runId: 'demo' }), '`changed` for another run is not for this view');
    const n = (await p.host.posted()).length;
    await p.host.send({ t: 'changed', runId: GSM });
    const again = await p.postedAfter(n, 3);
    assert.deepEqual(
      again.map((m) => [m.t, m.runId, m.iteration, m.id]),
      [
        ['selectRun', GSM, undefined, undefined],
        ['selectIteration', GSM, 2, undefined],
        ['requestDetail', GSM, 2, chosen],
      ],
    );
    await p.page.waitForSelector(`.detail[data-id="${chosen}"] pre code`);
    await p.postsNothing(() => Promise.resolve(), 'more asked than the overview, the iteration and the detail');
    assert.equal(await p.page.$eval('.algo-table', (t) => t.scrollTop), 2400);
    assert.equal(await p.page.getAttribute(`.algo-row[data-id="${chosen}"]`, 'aria-selected'), 'true');
  });

  it('on `focus` selects the run and iteration, or asks for the run list when the run is new', async () => {
    const p = await panel({ state: { runId: GSM, iteration: 3 } });
    await p.rendered(3);
    await p.host.send({ t: 'focus', runId: 'demo', iteration: 1 });
    await p.rendered(1);
    assert.equal(await p.text('.iteration-label'), 'Iteration 1 of 3');
    const s = await p.host.state();
    assert.deepEqual([s.runId, s.iteration], ['demo', 1]);
    await p.host.send({ t: 'focus', runId: 'demo', iteration: 2 });
    await p.rendered(2);
    await p.host.send({ t: 'focus', runId: 'not-listed-yet' });
    await p.page.waitForFunction(() => (window as unknown as StandInWindow).__selfdev.posted.at(-1)?.t === 'refresh');
  });

  it('drops stale answers: an older detail or error, an iteration no longer shown', async () => {
    const p = await panel({ state: { runId: 'demo', iteration: 1 } });
    await p.rendered(1);
    await p.host.autoAnswer(false);
    const [a, b] = (await p.shownIds()).slice(0, 2);
    await p.page.click(`.algo-row[data-id="${a}"] .col-summary`);
    const r1 = (await p.host.last('requestDetail'))!;
    await p.page.click(`.algo-row[data-id="${b}"] .col-summary`);
    const r2 = (await p.host.last('requestDetail'))!;
    assert.equal(r2.id, b);
    await p.host.send({ t: 'detail', requestId: r1.requestId, detail: demo.details[`demo/1/${a}`] });
    await p.host.send({ t: 'error', message: 'stale', requestId: r1.requestId });
    await p.host.send({ t: 'iteration', data: demo.iterations.demo[3] });
    await p.page.waitForTimeout(150);
    assert.equal(await p.page.$('.detail pre code'), null, 'a stale detail was shown');
    assert.equal(await p.page.$('.detail .detail-problem'), null, 'a stale error was shown');
    assert.equal(await p.page.getAttribute('body', 'data-rendered-iteration'), '1', 'a stale iteration was shown');
    assert.equal(await p.text('.algo-count'), '48 algorithms');
    await p.host.send({ t: 'error', message: 'cannot read the file', requestId: r2.requestId });
    assert.equal(await p.text('.detail .detail-problem'), 'cannot read the file');
    await p.host.send({ t: 'detail', requestId: r2.requestId, detail: demo.details[`demo/1/${b}`] });
    await p.page.waitForSelector(`.detail[data-id="${b}"] pre code`);
  });

  it('shows how an LLM wrote an algorithm: extraction, the raw completion as text, the prompt folded', async () => {
    const p = await panel({ state: { runId: 'demo', iteration: 1 } });
    await p.rendered(1);
    await p.host.autoAnswer(false);
    const [a] = await p.shownIds();
    await p.page.click(`.algo-row[data-id="${a}"] .col-summary`);
    const r = (await p.host.last('requestDetail'))!;
    // A completion is the model's text: markup in it must stay text.
    const completion = 'Idea: <img src=x onerror="window.__pwned=1"> trim, then sum.\n```python\ndef merge(task_vectors, name):\n    return task_vectors[0]\n```';
    const generation = { prompt: '<s>Write a new merge algorithm.\n', completion, model: 'writer', finishReason: 'stop', sampling: 'temperature 1.200 · top-p 1 · seed 1 · 80 + 40 tokens', extraction: 'fenced block 1 of 1', duplicateOf: '1/a0003' };
    await p.host.send({ t: 'detail', requestId: r.requestId, detail: { ...demo.details[`demo/1/${a}`], generation } });
    await p.page.waitForSelector(`.detail[data-id="${a}"] .detail-generation pre.completion`);
    assert.equal(await p.page.textContent('.detail-generation pre.completion'), completion);
    assert.equal(await p.page.$('.detail-generation img'), null, 'no element was made from the completion');
    assert.equal(await p.page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned), undefined);
    assert.match((await p.text('.detail-generation .detail-note')) ?? '', /^by writer · temperature 1\.200 · top-p 1 · seed 1 · 80 \+ 40 tokens · finished: stop · same code as 1\/a0003$/);
    assert.equal(await p.text('.detail-generation .extraction'), 'Extraction: fenced block 1 of 1');
    assert.ok(await p.page.isHidden('.detail-generation pre.prompt'), 'the prompt starts folded');
    await p.page.click('.generation-prompt summary');
    assert.equal(await p.page.textContent('.detail-generation pre.prompt'), generation.prompt);
  });

  it('shows an error without a request id in a banner that can be dismissed', async () => {
    const p = await panel();
    await p.rendered(3);
    assert.ok(await p.page.isHidden('.error-banner'));
    await p.host.send({ t: 'error', message: 'The run folder is gone' });
    await p.page.waitForSelector('.error-banner:not([hidden])');
    assert.equal(await p.text('.error-banner .error-text'), 'The run folder is gone');
    assert.equal(await p.page.getAttribute('.error-banner', 'role'), 'alert');
    await p.page.click('.error-banner button');
    assert.ok(await p.page.isHidden('.error-banner'));
  });

  it('ignores unknown messages; a malformed one shows a banner and the panel keeps working', async () => {
    const p = await panel();
    await p.rendered(3);
    await p.postsNothing(async () => {
      for (const m of [null, 42, 'runs', [], {}, { t: 'nonsense', runs: [] }, { type: 'runs' }]) await p.host.send(m);
    });
    assert.ok(await p.page.isHidden('.error-banner'), 'an unknown message showed an error');
    assert.equal(await p.text('.algo-count'), '48 algorithms');

    await p.host.send({ t: 'iteration', data: null });
    await p.page.waitForSelector('.error-banner:not([hidden])');
    assert.match(await p.text('.error-banner .error-text'), /^The panel could not show a message from the extension: /);
    await p.host.send({ t: 'overview', overview: null });
    await p.page.waitForTimeout(100);
    assert.ok(await p.page.isVisible('.algo-table'));
    assert.equal(await p.text('.algo-count'), '48 algorithms');
    const [id] = await p.shownIds();
    await p.page.click(`.algo-row[data-id="${id}"] .col-summary`);
    await p.page.waitForSelector(`.detail[data-id="${id}"] pre code`);
  });

  it('shows the live status of this run or another, and enables Stop and Run Next Iteration to match', async () => {
    const p = await panel({ state: { runId: GSM } });
    await p.rendered(3);
    const disabled = (cmd: string) => p.page.getAttribute(`.header-actions [data-command="${cmd}"]`, 'disabled').then((v) => v !== null);
    assert.ok(await p.page.isHidden('.live-status'));
    assert.deepEqual([await disabled('selfdev.stop'), await disabled('selfdev.runNextIteration')], [true, false]);
    await p.host.send({ t: 'live', status: { runId: GSM, iteration: 4, phase: 'score', done: 12, total: 300 } });
    assert.equal(await p.text('.live-status .live-text'), 'iteration 4 · scoring 12/300');
    assert.ok(await p.page.isVisible('.live-status'));
    assert.deepEqual([await disabled('selfdev.stop'), await disabled('selfdev.runNextIteration')], [false, true]);
    // DPO's progress in words: step, loss, reward accuracy.
    await p.host.send({ t: 'live', status: { runId: GSM, iteration: 4, phase: 'refine', done: 3, total: 12, detail: 'DPO step 3/12 · loss 0.651 · reward accuracy 75.0%' } });
    assert.equal(await p.text('.live-status .live-text'), 'iteration 4 · DPO step 3/12 · loss 0.651 · reward accuracy 75.0%');
    // Scale-out: the workers beside the phase, each worker in the tooltip.
    const workers = { summary: 'workers 2 running, 1 pending · queue 5 · 2 in progress · 12 done · 340/h', lines: ['worker 0 running on node1 (pid 41) · 7 done', 'worker 2 pending (Resources) · 0 done'], open: true, running: 2, total: 3 };
    await p.host.send({ t: 'live', status: { runId: GSM, iteration: 4, phase: 'score', done: 14, total: 300, workers } });
    assert.equal(await p.text('.live-status .live-workers'), workers.summary);
    assert.equal(await p.page.getAttribute('.live-status .live-workers', 'title'), workers.lines.join('\n'));
    await p.host.send({ t: 'live', status: { runId: 'demo', iteration: 3, phase: 'refine' } });
    assert.ok(await p.page.isHidden('.live-status .live-workers'), 'no workers: nothing shown');
    assert.equal(await p.text('.live-status .live-text'), 'demo — iteration 3 · refining');
    assert.deepEqual([await disabled('selfdev.stop'), await disabled('selfdev.runNextIteration')], [true, false]);
    await p.host.send({ t: 'live', status: null });
    assert.ok(await p.page.isHidden('.live-status'));
  });

  it('posts the loop commands with the run, and picks another run from the dropdown', async () => {
    const p = await panel({ state: { runId: GSM } });
    await p.rendered(3);
    await p.page.click('[data-command="selfdev.runNextIteration"]');
    assert.deepEqual(await p.host.last('command'), { t: 'command', command: 'selfdev.runNextIteration', runId: GSM });
    await p.postsNothing(() => p.page.click('[data-command="selfdev.stop"]', { force: true }), 'Stop is disabled while nothing runs');
    await p.host.send({ t: 'live', status: { runId: GSM, iteration: 4, phase: 'generate' } });
    await p.page.click('[data-command="selfdev.stop"]');
    assert.deepEqual(await p.host.last('command'), { t: 'command', command: 'selfdev.stop', runId: GSM });

    const n = (await p.host.posted()).length;
    await p.page.click('.run-dropdown');
    await p.page.click('.run-dropdown vscode-option[value="demo"]');
    assert.deepEqual((await p.postedAfter(n, 2)).slice(0, 2), [
      { t: 'selectRun', runId: 'demo' },
      { t: 'selectIteration', runId: 'demo', iteration: 3 },
    ]);
    // Iteration 3 of the other run is drawn in the same place: wait for its row count.
    await p.page.waitForFunction(() => document.querySelector('.algo-count')?.textContent === '48 algorithms');
    assert.equal((await p.host.state()).runId, 'demo');
  });

  it('draws the best candidate model as a reference line, and shows the sealed-test comparisons of a finalized run only', async () => {
    const p = await panel({ state: { runId: GSM } });
    await p.rendered(3);
    const candidate = demo.overviews[GSM].bestCandidate!.score;
    const label = `best candidate ${(100 * candidate).toFixed(1)}%`;
    assert.ok((await p.page.getAttribute('.chart-progress', 'aria-label'))?.includes(label), 'progress chart');
    assert.ok((await p.page.getAttribute('.chart-distribution', 'aria-label'))?.includes(label), 'distribution chart');
    assert.ok((await p.page.$$eval('.chart-legend li', (ls) => ls.map((l) => l.textContent))).includes('best candidate'));
    // The reference labels sit where they hide no data line (unit-tested geometry); the picture.
    await p.page.locator('.chart-progress').screenshot({ path: path.join(shots, 'panel-progress-labels.png') });
    assert.equal(await p.page.isVisible('.comparisons'), true);
    assert.equal(await p.text('.comparisons h3'), 'Sealed test: 3 paired comparisons');
    const rows = await p.page.$$eval('.cmp-table tbody tr', (trs) => trs.map((tr) => [tr.className, ...Array.from(tr.querySelectorAll('td'), (td) => td.textContent)]));
    assert.deepEqual(rows[0], ['cmp-better', 'best discovered vs best baseline (2/a0003 vs baseline-ties-DENSITY=0.3)', '+5.2 pp', '+2.1 pp to +8.3 pp', '< 0.001', '0.002']);
    assert.equal(rows[1][0], 'cmp-worse');
    assert.equal(rows[2][0], 'cmp-unclear');
    // The transfer matrix, and the iteration's factory-against-control figure.
    const transfer = await p.page.$$eval('.transfer-table tbody tr', (trs) => trs.map((tr) => Array.from(tr.querySelectorAll('td'), (td) => td.textContent)));
    assert.deepEqual(transfer, [['2/a0003', '30.2%'], ['baselines re-tuned on the set', '47.8%']]);
    assert.equal(await p.text('.refinement-note'), 'Factory against the unrefined generator (v0) at the same temperature: mean +3.2 pp [−3.6 pp, +9.9 pp]; best 3 −3.1 pp [−6.1 pp, +2.4 pp].');

    await p.page.click('.run-dropdown');
    await p.page.click('.run-dropdown vscode-option[value="demo"]');
    await p.page.waitForFunction(() => document.querySelector('.algo-count')?.textContent === '48 algorithms');
    assert.equal(await p.page.isVisible('.comparisons'), false, 'a run not finalized has none');
    assert.equal(await p.page.isVisible('.transfer'), false);
  });

  it("shows the factory's lineage: the version that wrote each iteration and what DPO made of its pairs, the shown iteration marked", async () => {
    const p = await panel({ state: { runId: GSM } });
    await p.rendered(3);
    const rows = () => p.page.$$eval('.lineage-table tbody tr', (trs) => trs.map((tr) => [tr.className, ...Array.from(tr.querySelectorAll('td'), (td) => td.textContent)]));
    const r = await rows();
    assert.equal(r.length, demo.overviews[GSM].lineage.length);
    assert.deepEqual(r[0], ['lineage-refined', '1', 'v0', 'v0 → v1', '9 of 12', '0.693 → 0.410', '87.5% (margin 0.520)', '-4.20 → 1.30 (Δ +5.50 [+3.10, +7.90]); 3 pairs, 100.0% right', '0123456789ab']);
    const last = r.at(-1)!;
    assert.equal(last[0], 'lineage-deferred lineage-shown', 'the last iteration: deferred, and shown');
    assert.equal(last[3], 'deferred');
    assert.match(await p.text('.lineage-notes'), /Iteration 3: iteration 3 is the last planned one/);
    // Which version wrote each algorithm: the table's Factory column (v2 wrote iteration 3).
    const versions = () => p.page.$$eval('.algo-row .col-factoryVersion', (cs) => [...new Set(cs.map((c) => c.textContent))]);
    assert.deepEqual(await versions(), ['v2']);
    // Stepping to iteration 2 moves the mark.
    await p.page.keyboard.press('ArrowLeft');
    await p.rendered(2);
    await p.page.waitForSelector('.lineage-table tr[data-iteration="2"].lineage-shown');
    assert.equal(await p.page.$$eval('.lineage-shown', (rs) => rs.length), 1);
    assert.deepEqual(await versions(), ['v1']);
  });

  it('with no runs shows the empty state, whose buttons start the demo or a new run', async () => {
    const p = await panel({ fixture: 'empty' });
    await p.page.waitForSelector('.empty-state:not([hidden])');
    assert.ok(await p.page.isHidden('.run-view'));
    assert.ok(await p.page.isHidden('.header-actions'));
    assert.deepEqual(await p.host.posted(), [{ t: 'ready' }]);
    await p.page.click('.empty-state [data-command="selfdev.startDemo"]');
    assert.deepEqual(await p.host.last('command'), { t: 'command', command: 'selfdev.startDemo' });
    await p.page.click('.empty-state [data-command="selfdev.newRun"]');
    assert.deepEqual(await p.host.last('command'), { t: 'command', command: 'selfdev.newRun' });
  });

  for (const theme of Object.keys(THEMES)) {
    it(`renders in the ${theme} theme without errors`, async () => {
      const t = THEMES[theme];
      const best = rowsOf('demo', 2).find((r) => r.best)!;
      const p = await panel({ theme, state: { runId: 'demo', iteration: 2, selectedId: best.id } }, { width: 1440, height: 1100 });
      await p.rendered(2);
      await p.page.waitForSelector(`.detail[data-id="${best.id}"] .detail-diff`);
      assert.ok(await p.page.$eval('body', (b, cls) => b.classList.contains(cls), t.cls));
      assert.equal(await p.page.$eval('html', (e) => getComputedStyle(e).backgroundColor), rgb(t.vars['editor-background']));
      assert.equal(await p.page.$eval('body', (e) => getComputedStyle(e).color), rgb(t.vars['editor-foreground']));
      assert.equal(await p.page.$eval('.algo-table', (e) => getComputedStyle(e).borderTopColor), rgb(t.vars['widget-border']));
      // Both charts drew something.
      const inked = await p.page.$$eval('.charts canvas', (cs) =>
        cs.map((c) => {
          const d = (c as HTMLCanvasElement).getContext('2d')!.getImageData(0, 0, (c as HTMLCanvasElement).width, (c as HTMLCanvasElement).height).data;
          let n = 0;
          for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++;
          return n;
        }),
      );
      assert.equal(inked.length, 2);
      assert.ok(inked.every((n) => n > 1000), `chart pixels: ${inked.join(', ')}`);
      await p.page.waitForTimeout(150);
      await p.page.screenshot({ path: path.join(shots, `panel-${theme}.png`), fullPage: true });
      assert.deepEqual([...p.errors, ...(await cspViolations(p.page))], []);
    });
  }

  it('redraws the charts when the theme changes while the panel is open', async () => {
    const p = await panel({ theme: 'dark' });
    await p.rendered(3);
    const picture = () => p.page.$eval('canvas.chart-distribution', (c) => (c as HTMLCanvasElement).toDataURL());
    const dark = await picture();
    await p.host.setTheme('light');
    await p.page.waitForFunction((before) => (document.querySelector('canvas.chart-distribution') as HTMLCanvasElement).toDataURL() !== before, dark);
    assert.ok(await p.page.$eval('body', (b) => b.classList.contains('vscode-light') && !b.classList.contains('vscode-dark')));
    await p.host.setTheme('dark');
    await p.page.waitForFunction((before) => (document.querySelector('canvas.chart-distribution') as HTMLCanvasElement).toDataURL() === before, dark);
  });

  it('has no CSP violations and no console errors, here or on any page the tests opened', async () => {
    // The check itself works: the page's CSP refuses an inline script, and the stand-in sees it.
    const probe = await panel({ fixture: 'empty' });
    await probe.page.waitForSelector('.empty-state:not([hidden])');
    await probe.page.evaluate(() => document.body.append(Object.assign(document.createElement('script'), { textContent: 'window.inlineRan = true' })));
    await probe.page.waitForFunction(() => (window as unknown as StandInWindow).__selfdev.cspViolations.length > 0);
    assert.equal(await probe.page.evaluate(() => (window as unknown as { inlineRan?: boolean }).inlineRan), undefined);
    await probe.page.close();
    open = open.filter((x) => x !== probe);

    const p = await panel();
    await p.rendered(3);
    const failed = rowsOf('demo', 2).find((r) => r.status === 'failed')!;
    await p.load({ state: { runId: 'demo', iteration: 2, selectedId: failed.id } });
    await p.page.waitForSelector(`.detail[data-id="${failed.id}"] .detail-error`);
    await p.page.click('[data-tab="pairs"]');
    await p.page.click('.pair[data-index="0"] .pair-why');
    await p.page.waitForSelector('.pair-detail .chosen pre');
    for (const theme of ['light', 'hc', 'dark']) await p.host.setTheme(theme);
    await p.page.waitForTimeout(150);
    problems.push(...(await p.close()));
    open = [];
    assert.deepEqual(problems, []);
  });
});
