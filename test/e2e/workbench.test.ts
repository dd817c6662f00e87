// What a person sees: the packaged .vsix installed into code-server, driven by Debian Chromium.
// Screenshots land in test-output/e2e/.
import * as assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { BrowserContext, Locator, Page } from 'playwright-core';
import { installExtension, launchBrowser, makeSandbox, startCodeServer, type RunningCodeServer } from '../harness/codeServer';
import { packageJson, repoRoot, testOutput } from '../harness/paths';
import { writeDemoConfig } from '../harness/smallConfig';

const shots = path.join(testOutput, 'e2e');

function builtVsix(): string {
  const { name, version } = packageJson();
  const dist = path.join(repoRoot, 'dist');
  const file = existsSync(dist) && readdirSync(dist).find((f) => f.startsWith(`${name}-${version}-`) && f.endsWith('.vsix'));
  if (!file) throw new Error('no .vsix in dist/: run "npm run package" first');
  return path.join(dist, file);
}

async function runFromPalette(page: Page, title: string): Promise<void> {
  await page.keyboard.press('F1');
  const input = page.locator('.quick-input-widget input');
  await input.waitFor({ state: 'visible' });
  await input.fill(`>${title}`);
  const row = page.locator('.quick-input-list .monaco-list-row', { hasText: title }).first();
  await row.waitFor({ state: 'visible' });
  await input.press('Enter');
}

function toast(page: Page, text: RegExp) {
  return page.locator('.notifications-toasts .notification-toast', { hasText: text }).first();
}

const sidebar = (page: Page) => page.locator('#workbench\\.view\\.extension\\.selfdev');

/** A row of the Runs tree whose text (label, then description) matches. */
function treeRows(page: Page, text: RegExp): Locator {
  return sidebar(page).locator('.monaco-list-row[role=treeitem]', { hasText: text });
}

function treeRow(page: Page, text: RegExp): Locator {
  return treeRows(page, text).first();
}

async function expand(row: Locator): Promise<void> {
  await row.waitFor({ timeout: 60_000 });
  if ((await row.getAttribute('aria-expanded')) !== 'true') await row.click();
}

async function collapse(row: Locator): Promise<void> {
  if ((await row.getAttribute('aria-expanded')) === 'true') await row.click();
}

/** Answers the open input box or quick pick. */
async function answer(page: Page, text: string): Promise<void> {
  const input = page.locator('.quick-input-widget input');
  await input.waitFor({ state: 'visible' });
  await input.fill(text);
  await page.waitForTimeout(300);
  await input.press('Enter');
  await page.locator('.quick-input-widget').waitFor({ state: 'hidden' }).catch(() => undefined);
}

function resultsFrame(page: Page) {
  return page.frameLocator('iframe.webview.ready').frameLocator('iframe#active-frame');
}

/** Waits until the panel has drawn iteration `t` (table and charts). */
async function rendered(page: Page, t: number): Promise<void> {
  await resultsFrame(page).locator(`body[data-rendered-iteration="${t}"]`).waitFor({ timeout: 60_000 });
}

async function until(what: string, fn: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await fn())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

function writeSmallConfig(workspace: string): void {
  const demo = path.join(repoRoot, 'resources', 'demo');
  writeDemoConfig(path.join(workspace, 'small.selfdev.json'), demo, {
    // Enough items that scores differ (ties carry no preference), few enough for seconds.
    benchmarks: {
      gsm: { dev: path.join(demo, 'data', 'gsm_dev.jsonl'), answer: 'gsm8k', devSize: 24 },
      math: { dev: path.join(demo, 'data', 'math_dev.jsonl'), answer: 'boxed', devSize: 24 },
    },
    eval: { maxNewTokens: 48, stop: ['</s>', '\n\n'] },
    iterations: 3,
    pairs: { chosenTop: 0.34, rejectedBottom: 0.34 },
  });
}

describe('Self-Developing in the VS Code UI', () => {
  let server: RunningCodeServer;
  let browser: BrowserContext;
  let page: Page;
  let smallId = '';
  let sandboxRoot = '';
  /** Where the extension keeps runs in this sandbox: the workspace's extension storage. */
  const runsFolder = () => {
    const storage = path.join(sandboxRoot, 'user-data', 'User', 'workspaceStorage');
    const ws = readdirSync(storage).find((d) => existsSync(path.join(storage, d, 'selfdev.self-developing', 'runs')));
    assert.ok(ws, 'the runs folder exists');
    return path.join(storage, ws, 'selfdev.self-developing', 'runs');
  };

  before(async () => {
    mkdirSync(shots, { recursive: true });
    const sandbox = makeSandbox('e2e', { 'selfdev.python.interpreter': process.env.SELFDEV_PYTHON ?? 'python3' });
    installExtension(sandbox, builtVsix());
    writeSmallConfig(sandbox.workspace);
    sandboxRoot = sandbox.root;
    server = await startCodeServer(sandbox);
    browser = await launchBrowser(sandbox);
    page = browser.pages()[0] ?? (await browser.newPage());
    await page.goto(`${server.origin}/?folder=${encodeURIComponent(sandbox.workspace)}`);
    await page.locator('.monaco-workbench').waitFor({ timeout: 60_000 });
  });

  after(async () => {
    await browser?.close().catch(() => undefined);
    await server?.stop();
  });

  it('shows the Self-Developing container with the Runs welcome view', async () => {
    const icon = page.locator('.activitybar .action-item a[aria-label^="Self-Developing"]');
    await icon.waitFor({ timeout: 30_000 });
    await icon.click();
    const container = page.locator('#workbench\\.view\\.extension\\.selfdev');
    await container.waitFor();
    await container.getByText('No Self-Developing runs yet.').waitFor();
    await container.getByRole('button', { name: 'Start the Demo Run' }).waitFor();
    await container.getByRole('button', { name: 'New Run from Config…' }).waitFor();
    await page.screenshot({ path: path.join(shots, '1-welcome-view.png') });
  });

  it('runs a command from the palette: the local backend loads onnxruntime from the installed extension', async () => {
    await runFromPalette(page, 'Self-Developing: Select Backend…');
    await page.locator('.quick-input-list .monaco-list-row', { hasText: 'Local' }).first().click();
    const ready = toast(page, /local backend ready: onnxruntime 1\.30\.0 \(cpu/);
    await ready.waitFor({ timeout: 60_000 });
    await page.screenshot({ path: path.join(shots, '2-select-backend.png') });
  });

  it('starts the demo from the palette and the sidebar fills as results arrive; Stop stops it', async () => {
    await runFromPalette(page, 'Self-Developing: Start the Demo Run');
    await toast(page, /Self-Developing: demo run demo-/).waitFor({ timeout: 60_000 });
    // The run shows at once; its first iteration once the seed and the baselines are scored.
    const run = treeRow(page, /^demo/);
    await run.waitFor({ timeout: 30_000 });
    // While the baselines run, the tree says what is being scored, in the loop's words, and the
    // progress notification shows a bar (real increments, not a spinner).
    await treeRow(page, /^demo.*scoring baselines \d+\/\d+/).waitFor({ timeout: 60_000 });
    await page.locator('.notifications-toasts .monaco-progress-container.discrete').first().waitFor({ state: 'attached', timeout: 60_000 });
    await page.locator('.statusbar-item', { hasText: /demo-\d{8}-\d{6}: (scoring baselines|iteration 1 · \w+)/ }).first().waitFor({ timeout: 60_000 });
    await treeRow(page, /demo.*1 iteration/).waitFor({ timeout: 240_000 });
    await expand(run);
    const iteration = treeRow(page, /^Iteration 1/);
    await expand(iteration);
    await page.screenshot({ path: path.join(shots, '3-demo-first-results.png') });
    await until('three scored algorithms in the sidebar', async () => (await treeRows(page, /^a\d{4}.*\d+\.\d%/).count()) >= 3, 180_000);
    await treeRow(page, /^Baselines and controls/).waitFor();
    await page.screenshot({ path: path.join(shots, '3-demo-sidebar-filled.png') });
    await runFromPalette(page, 'Self-Developing: Stop the Running Iteration');
    await toast(page, /stopped run demo-\d{8}-\d{6}/).waitFor({ timeout: 120_000 });
    await collapse(run);
  });

  it('runs a small config for two iterations, then steps through them in the results panel', async () => {
    await page.keyboard.press('Control+P');
    const quickOpen = page.locator('.quick-input-widget input');
    await quickOpen.fill('small.selfdev.json');
    await page.locator('.quick-input-list .monaco-list-row', { hasText: 'small.selfdev.json' }).first().waitFor();
    await quickOpen.press('Enter');
    await page.locator('.tab', { hasText: 'small.selfdev.json' }).waitFor();
    await runFromPalette(page, 'Self-Developing: New Run from Config…');
    // Who writes the algorithms: the config's factory (the first choice).
    await page.locator('.quick-input-list .monaco-list-row', { hasText: 'LLM factory: the seed model' }).waitFor();
    await answer(page, 'As the config says');
    const created = toast(page, /created run small-\d{8}-\d{6}/);
    await created.waitFor({ timeout: 60_000 });
    smallId = /small-\d{8}-\d{6}/.exec((await created.textContent()) ?? '')![0];
    await runFromPalette(page, 'Self-Developing: Run N Iterations…');
    await answer(page, '2');
    await answer(page, smallId);
    await toast(page, new RegExp(`${smallId}: iteration 2 done`)).waitFor({ timeout: 240_000 });

    await runFromPalette(page, 'Self-Developing: Open Results Panel');
    const panel = resultsFrame(page);
    await panel.locator('.iteration-label', { hasText: 'Iteration 2 of 2' }).waitFor({ timeout: 60_000 });
    await rendered(page, 2);
    assert.ok((await panel.locator('.algo-row').count()) >= 5);
    await page.screenshot({ path: path.join(shots, '4-panel-iteration-2.png') });
    await panel.locator('.stepper [data-action="prev"]').click();
    await panel.locator('.iteration-label', { hasText: 'Iteration 1 of 2' }).waitFor();
    await rendered(page, 1);
    await page.screenshot({ path: path.join(shots, '5-panel-iteration-1.png') });
    // Hidden and shown again (VS Code drops a hidden webview's page), it comes back where it was.
    await page.locator('.tab', { hasText: 'small.selfdev.json' }).click();
    await page.locator('.tab', { hasText: 'Self-Developing Results' }).click();
    await rendered(page, 1);
    await resultsFrame(page).locator('.iteration-label', { hasText: 'Iteration 1 of 2' }).waitFor();
    await panel.locator('.stepper [data-action="next"]').click();
    await rendered(page, 2);
  });

  it('opens a preference pair: chosen and rejected code side by side', async () => {
    const panel = resultsFrame(page);
    await panel.locator('#tab-pairs').click();
    const first = panel.locator('.pair[data-index]').first();
    await first.waitFor();
    await first.click();
    await panel.locator('.pair-detail .chosen pre', { hasText: 'def merge' }).waitFor();
    await panel.locator('.pair-detail .rejected pre', { hasText: 'def merge' }).waitFor();
    await page.screenshot({ path: path.join(shots, '6-preference-pair.png') });
    await panel.locator('#tab-algorithms').click();
  });

  it('edits an algorithm: saving scores it again and commits the edit with its new score', async () => {
    const run = treeRow(page, new RegExp(`^small`));
    await expand(run);
    await expand(treeRow(page, /^Iteration 2/));
    await treeRow(page, /^a0003/).click();
    // The tab says which run and iteration the algorithm belongs to (ids restart every iteration).
    await page.locator('.tab', { hasText: new RegExp(`a0003 · ${smallId} · iteration 02`) }).waitFor();
    const editor = page.locator('.editor-instance .monaco-editor .view-lines').first();
    await editor.click();
    await page.keyboard.press('Control+A');
    await page.keyboard.insertText('import numpy as np\n\n\ndef merge(task_vectors, name):\n    return 0.4 * np.sum(np.stack(task_vectors), axis=0)\n');
    await page.keyboard.press('Control+S');
    const done = toast(page, /2\/a0003: .* → dev \d+\.\d%; committed "edit a0003: /);
    await done.waitFor({ timeout: 120_000 });
    await treeRow(page, /^a0003.*edited/).waitFor({ timeout: 30_000 });
    await page.screenshot({ path: path.join(shots, '7-edit-scored-and-committed.png') });
  });

  it("vetoes the best algorithm in the panel; it is left out of the next iteration's pairs", async () => {
    await page.locator('.tab', { hasText: 'Self-Developing Results' }).click();
    const panel = resultsFrame(page);
    await rendered(page, 2);
    const best = panel.locator('.algo-row').first();
    const vetoed = await best.getAttribute('data-id');
    assert.ok(vetoed);
    await best.click();
    await panel.locator('.detail [data-action="veto"]').click();
    await toast(page, new RegExp(`vetoed ${smallId} 2/${vetoed}`)).waitFor({ timeout: 30_000 });
    await panel.locator('.algo-row', { hasText: 'vetoed' }).first().waitFor();
    await page.screenshot({ path: path.join(shots, '8-vetoed-in-panel.png') });
    // The run open in the panel (and selected in the tree) is the one meant: no "Which run?".
    await runFromPalette(page, 'Self-Developing: Run Next Iteration');
    await page.locator('.quick-input-widget').waitFor({ state: 'hidden' });
    await page.waitForTimeout(1000);
    assert.equal(await page.locator('.quick-input-widget').isVisible(), false, 'Run Next Iteration asked which run although one is in view');
    await toast(page, new RegExp(`${smallId}: iteration 3 done`)).waitFor({ timeout: 240_000 });
    await panel.locator('.iteration-label', { hasText: /of 3/ }).waitFor({ timeout: 30_000 });
    await panel.locator('.stepper [data-action="next"]').click();
    await panel.locator('.iteration-label', { hasText: 'Iteration 3 of 3' }).waitFor();
    await rendered(page, 3);
    await panel.locator('#tab-pairs').click();
    await panel.locator('.pair[data-index]').first().waitFor();
    const shown = await panel.locator('.pair[data-index]').allTextContents();
    assert.ok(!shown.some((t) => t.includes(`2/${vetoed}`)), `2/${vetoed} must not be in iteration 3's pairs: ${shown.join(' | ')}`);
    // The veto is what kept it out: as the best of iteration 2 it is an elite, and it beats a
    // rejected program of iteration 3, so without the veto it would have been paired.
    const runDir = path.join(runsFolder(), smallId);
    const rec = (t: number) => readFileSync(path.join(runDir, 'iterations', `0${t}`, 'results.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { id: string; score?: number });
    const vetoedScore = rec(2).filter((r) => r.id === vetoed).at(-1)?.score ?? 0;
    const pairs = readFileSync(path.join(runDir, 'iterations', '03', 'pairs.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { rejectedScore: number | null });
    assert.equal(shown.length, pairs.length, 'the panel shows every pair');
    assert.ok(pairs.some((p) => p.rejectedScore === null || p.rejectedScore < vetoedScore), `2/${vetoed} (${vetoedScore}) would have been paired`);
    await page.screenshot({ path: path.join(shots, '9-vetoed-left-out-of-next-pairs.png') });
  });
});
