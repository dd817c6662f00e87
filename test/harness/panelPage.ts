// The results panel outside VS Code, for its benchmark (test/bench/panel.ts) and its browser
// tests (test/e2e/panel.test.ts): a local server that serves the host's real page
// (src/vscode/panelHtml.ts, strict CSP with a nonce) and the built webview (out/webview), plus
// what only VS Code would provide, added to that page and nothing else:
// - VS Code's default webview styles, as a stylesheet from the same origin (panelThemes.ts);
// - a stand-in for acquireVsCodeApi, a nonce'd script before main.js. It is a faithful peer of
//   VS Code's webview API: postMessage both ways (each message JSON-copied and delivered as its
//   own `message` event), getState/setState, one API object per page; it sets the theme's body
//   class and --vscode-* variables the way VS Code does, and answers the panel's requests from
//   synthetic data (test/bench/panelData.ts). The real API exists only inside VS Code; the
//   workbench tests (test/e2e/workbench.test.ts) drive the panel there.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import type { FromWebview } from '../../src/protocol/webviewMessages';
import { panelHtml } from '../../src/vscode/panelHtml';
import type { PanelFixture } from '../bench/panelData';
import { repoRoot } from './paths';
import { THEMES, VSCODE_DEFAULT_CSS, type Theme } from './panelThemes';

/** A message the panel posted, as the stand-in recorded it (JSON-copied). */
export type Posted = FromWebview & Record<string, unknown>;

/** What the stand-in exposes to the test or benchmark driving the page, as window.__selfdev. */
export interface StandIn {
  posted: Posted[];
  /** Each `iteration` answer: when it was posted (the benchmark's start mark). */
  timings: { iteration: number; size: number; t0: number }[];
  /** Per iteration: the selfdev:iteration-rendered mark, and the frame after it. */
  rendered: Record<string, { mark: number; frame?: number }>;
  cspViolations: string[];
  /** Off: requests are recorded but not answered (the test answers with send). */
  autoAnswer: boolean;
  /** What the panel last saved with setState. */
  state: Record<string, unknown> | undefined;
  /** Delivers a message from the host. */
  send(msg: unknown): void;
  setTheme(name: string): void;
}
export type StandInWindow = { __selfdev: StandIn };

/**
 * The stand-in, run in the page: serialized with Function.prototype.toString, so it may use
 * nothing from outside itself. `saved` is the state an earlier page saved (VS Code hands it to
 * the new page after hide/show); the page takes it, and the theme's name, from its query.
 */
function standIn(themes: Record<string, Theme>, fx: PanelFixture): void {
  const params = new URLSearchParams(location.search);
  const saved = params.get('state');
  let state: unknown = saved ? JSON.parse(atob(saved)) : undefined;
  const copy = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;
  const api: StandIn = {
    posted: [],
    timings: [],
    rendered: {},
    cspViolations: [],
    autoAnswer: true,
    get state() {
      return state as Record<string, unknown> | undefined;
    },
    send: (msg) => window.postMessage(copy(msg), '*'),
    // As VS Code's webview does on a theme change: swap the body class and the variables.
    setTheme(name) {
      const t = themes[name];
      const body = document.body;
      body.classList.remove('vscode-light', 'vscode-dark', 'vscode-high-contrast', 'vscode-high-contrast-light');
      body.classList.add(t.cls);
      body.dataset.vscodeThemeKind = t.cls;
      const html = document.documentElement;
      html.removeAttribute('style');
      for (const [k, v] of Object.entries(t.vars)) html.style.setProperty(`--vscode-${k}`, v);
    },
  };
  (window as unknown as StandInWindow).__selfdev = api;
  document.addEventListener('securitypolicyviolation', (e) =>
    api.cspViolations.push(`${e.violatedDirective} ${e.blockedURI} ${e.sample} at ${e.sourceFile}:${e.lineNumber}:${e.columnNumber}`),
  );
  api.setTheme(params.get('theme') ?? 'dark');

  const error = (message: string, requestId?: number) => api.send(requestId === undefined ? { t: 'error', message } : { t: 'error', message, requestId });
  // What the host answers (src/vscode/resultsPanel.ts), from the fixture.
  function answer(m: FromWebview): void {
    switch (m.t) {
      case 'ready':
      case 'refresh':
        return api.send({ t: 'runs', runs: fx.runs });
      case 'selectRun': {
        const overview = fx.overviews[m.runId];
        return overview ? api.send({ t: 'overview', overview }) : error(`No run ${m.runId}`);
      }
      case 'selectIteration': {
        const data = fx.iterations[m.runId]?.[m.iteration];
        if (!data) return error(`No iteration ${m.iteration}`);
        const msg = copy({ t: 'iteration', data });
        // The measured span starts here: VS Code's last hop is this same postMessage.
        const t0 = performance.now();
        window.postMessage(msg, '*');
        api.timings.push({ iteration: m.iteration, size: data.algorithms.length, t0 });
        return;
      }
      case 'requestDetail': {
        const detail = fx.details[`${m.runId}/${m.iteration}/${m.id}`];
        return detail ? api.send({ t: 'detail', requestId: m.requestId, detail }) : error(`No detail for ${m.id} in this fixture`, m.requestId);
      }
      case 'requestPair': {
        const pair = fx.pairs[`${m.runId}/${m.iteration}/${m.index}`];
        return pair ? api.send({ t: 'pair', requestId: m.requestId, pair }) : error(`No pair ${m.index} in this fixture`, m.requestId);
      }
    }
  }

  // When the panel marks an iteration rendered: the mark's time, then the next frame.
  new MutationObserver(() => {
    const it = document.body.dataset.renderedIteration;
    if (it === undefined || api.rendered[it]) return;
    const marks = performance.getEntriesByName('selfdev:iteration-rendered');
    const rec: { mark: number; frame?: number } = { mark: marks.at(-1)?.startTime ?? performance.now() };
    api.rendered[it] = rec;
    requestAnimationFrame(() => {
      const ch = new MessageChannel();
      ch.port1.onmessage = () => (rec.frame = performance.now());
      ch.port2.postMessage(0);
    });
  }).observe(document.body, { attributes: true, attributeFilter: ['data-rendered-iteration'] });

  let acquired = false;
  (window as unknown as { acquireVsCodeApi: () => unknown }).acquireVsCodeApi = () => {
    if (acquired) throw new Error('An instance of the VS Code API has already been acquired');
    acquired = true;
    return Object.freeze({
      postMessage(msg: FromWebview) {
        const m = copy(msg);
        api.posted.push(m as Posted);
        if (api.autoAnswer) setTimeout(() => answer(m), 0);
      },
      getState: () => state,
      setState(s: unknown) {
        state = copy(s);
        return s;
      },
    });
  };
}

/** Puts `what` before `anchor` in the host's page; the page must have the anchor. */
function insertBefore(html: string, anchor: string, what: string): string {
  const i = html.indexOf(anchor);
  if (i < 0) throw new Error(`the panel page (src/vscode/panelHtml.ts) no longer has ${anchor}`);
  return `${html.slice(0, i)}${what}\n${html.slice(i)}`;
}

export interface Harness {
  /** The panel's page; query: fixture (a name given to startHarness), theme, state (encodeState). */
  url(query: Record<string, string>): string;
  close(): Promise<void>;
}

/** Serves the panel with each named fixture; needs the built webview (out/webview). */
export async function startHarness(fixtures: Record<string, PanelFixture>): Promise<Harness> {
  const built = path.join(repoRoot, 'out', 'webview');
  const assets: Record<string, [string, string | Buffer]> = {
    '/main.js': ['text/javascript', readFileSync(path.join(built, 'main.js'))],
    '/main.css': ['text/css', readFileSync(path.join(built, 'main.css'))],
    '/vscode-default.css': ['text/css', VSCODE_DEFAULT_CSS],
  };
  for (const [name, fx] of Object.entries(fixtures)) {
    assets[`/stand-in.js?fixture=${name}`] = ['text/javascript', `(${standIn.toString()})(${JSON.stringify(THEMES)}, ${JSON.stringify(fx)});`];
  }

  const page = (origin: string, fixture: string): string => {
    const nonce = randomBytes(16).toString('base64');
    const scriptUri = `${origin}/main.js`;
    const styleUri = `${origin}/main.css`;
    let html = panelHtml({ cspSource: origin, scriptUri, styleUri, nonce });
    const standInUri = `${origin}/stand-in.js?fixture=${encodeURIComponent(fixture)}`;
    html = insertBefore(html, `<link rel="stylesheet" href="${styleUri}">`, `<link rel="stylesheet" href="${origin}/vscode-default.css">`);
    return insertBefore(html, `<script nonce="${nonce}" src="${scriptUri}"></script>`, `<script nonce="${nonce}" src="${standInUri}"></script>`);
  };

  const server = http.createServer((req, res) => {
    const u = new URL(req.url ?? '/', 'http://127.0.0.1');
    const asset: [string, string | Buffer] | undefined =
      u.pathname === '/' ? ['text/html; charset=utf-8', page(`http://${req.headers.host}`, u.searchParams.get('fixture') ?? 'demo')] : assets[`${u.pathname}${u.search}`];
    if (!asset) {
      res.writeHead(u.pathname === '/favicon.ico' ? 204 : 404);
      res.end();
      return;
    }
    res.writeHead(200, { 'content-type': asset[0], 'cache-control': 'no-store' });
    res.end(asset[1]);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: (query) => `http://127.0.0.1:${port}/?${new URLSearchParams(query).toString()}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** Debian's headless Chromium (SELFDEV_CHROMIUM to use another). */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env.SELFDEV_CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

/** The state a page saved, for the next page's `state` query (as VS Code restores it). */
export const encodeState = (s: object): string => Buffer.from(JSON.stringify(s)).toString('base64');

/** Page errors and console errors are failures of the panel; collected as they happen. */
export function watchErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(`page error: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(`console error: ${m.text()}`);
  });
  return errors;
}

export async function cspViolations(page: Page): Promise<string[]> {
  const seen = await page.evaluate(() => (window as unknown as StandInWindow).__selfdev.cspViolations);
  return seen.map((v) => `CSP violation: ${v}`);
}

/** The host's side of one page, for tests: what the panel posted and saved, and messages to it. */
export function hostOf(page: Page) {
  const posted = () => page.evaluate(() => (window as unknown as StandInWindow).__selfdev.posted);
  return {
    posted,
    state: () => page.evaluate(() => (window as unknown as StandInWindow).__selfdev.state ?? {}),
    send: (msg: unknown) => page.evaluate((m) => (window as unknown as StandInWindow).__selfdev.send(m), msg),
    autoAnswer: (on: boolean) => page.evaluate((v) => void ((window as unknown as StandInWindow).__selfdev.autoAnswer = v), on),
    setTheme: (name: string) => page.evaluate((n) => (window as unknown as StandInWindow).__selfdev.setTheme(n), name),
    /** Waits until the panel has saved `value` under `key`. */
    saved: (key: string, value: unknown) => page.waitForFunction(([k, v]) => (window as unknown as StandInWindow).__selfdev.state?.[k] === v, [key, value] as const),
    /** The last message of type `t` the panel posted. */
    last: async (t: string) => (await posted()).filter((m) => m.t === t).at(-1),
  };
}
