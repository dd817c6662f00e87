import * as assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { panelHtml } from '../../src/vscode/panelHtml';

describe('the results panel page', () => {
  const page = { cspSource: 'https://webview.example', scriptUri: 'https://webview.example/main.js', styleUri: 'https://webview.example/main.css' };

  it('has a strict CSP: nothing by default, scripts only by nonce, no inline or eval', () => {
    const html = panelHtml(page);
    const csp = /Content-Security-Policy" content="([^"]+)"/.exec(html)?.[1] ?? '';
    const nonce = /script-src 'nonce-([A-Za-z0-9+/=]+)'/.exec(csp)?.[1];
    assert.ok(nonce && Buffer.from(nonce, 'base64').length === 16, csp);
    assert.match(csp, /^default-src 'none'; /);
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval|\*/);
    assert.match(html, new RegExp(`<script nonce="${nonce.replace(/[+/=]/g, '\\$&')}" src="https://webview\\.example/main\\.js"></script>`));
    assert.equal((html.match(/<script/g) ?? []).length, 1, 'one script, the bundle');
    assert.doesNotMatch(html, /<style|style=/);
  });

  it('draws a new nonce for every page', () => {
    const nonces = new Set(Array.from({ length: 20 }, () => /nonce-([^']+)'/.exec(panelHtml(page))![1]));
    assert.equal(nonces.size, 20);
  });
});
