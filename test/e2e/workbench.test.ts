// What a person sees: the packaged .vsix installed into code-server, driven by Debian Chromium.
// Screenshots land in test-output/e2e/.
import * as assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { BrowserContext, Page } from 'playwright-core';
import { installExtension, launchBrowser, makeSandbox, startCodeServer, type RunningCodeServer } from '../harness/codeServer';
import { packageJson, repoRoot, testOutput } from '../harness/paths';

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

describe('Self-Developing in the VS Code UI', () => {
  let server: RunningCodeServer;
  let browser: BrowserContext;
  let page: Page;

  before(async () => {
    mkdirSync(shots, { recursive: true });
    const sandbox = makeSandbox('e2e', { 'selfdev.python.interpreter': process.env.SELFDEV_PYTHON ?? 'python3' });
    installExtension(sandbox, builtVsix());
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

  it('the welcome button starts the demo run; Stop stops it and the run shows in the sidebar', async () => {
    await page.locator('#workbench\\.view\\.extension\\.selfdev').getByRole('button', { name: 'Start the Demo Run' }).click();
    await toast(page, /Self-Developing: demo run demo-/).waitFor({ timeout: 60_000 });
    await page.screenshot({ path: path.join(shots, '3-demo-running.png') });
    await runFromPalette(page, 'Self-Developing: Stop the Running Iteration');
    await toast(page, /stopped run demo-\d{8}-\d{6}/).waitFor({ timeout: 120_000 });
    const row = page.locator('#workbench\\.view\\.extension\\.selfdev .monaco-list-row[role=treeitem]', { hasText: 'demo' }).first();
    await row.waitFor({ timeout: 30_000 });
    await page.screenshot({ path: path.join(shots, '3-demo-stopped.png') });
  });

  it('opens the results panel, a webview that lists the runs', async () => {
    await runFromPalette(page, 'Self-Developing: Open Results Panel');
    const frame = page.frameLocator('iframe.webview.ready').frameLocator('iframe#active-frame');
    await frame.locator('li.run', { hasText: 'demo' }).first().waitFor({ timeout: 60_000 });
    assert.equal(await frame.locator('li.run').count(), 1);
    await page.screenshot({ path: path.join(shots, '4-results-panel.png') });
  });
});
