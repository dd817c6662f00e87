// The daemon's WebSocket listener on loopback, with real `ws` clients: the bearer token in the
// Authorization header only (none, a wrong one, or one in the URL: 401), no clear-text listener
// off loopback, and TLS with a self-signed certificate trusted only when pinned.
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import WebSocket from 'ws';
import { connectWebSocket, checkWebSocketTarget } from '../../src/backend/links/wsLink';
import { connectRemoteBackend } from '../../src/backend/remoteBackend';
import { checkListenOptions } from '../../src/backend/wsServer';
import type { ScoreParams } from '../../src/protocol/backend';
import { computedJobs, startDaemonProcess, type DaemonProcess } from '../harness/daemon';
import { scoreParamsFactory } from './support/daemonJobs';

const TOKEN = 'test-token-0123456789abcdef';
let dir: string;
let job: (jobId: string) => ScoreParams;
const daemons: DaemonProcess[] = [];

/** A self-signed certificate for 127.0.0.1 (openssl), as files and PEM text. */
function selfSigned(name: string): { cert: string; key: string; pem: string } {
  const cert = path.join(dir, `${name}.crt`);
  const key = path.join(dir, `${name}.key`);
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', cert, '-days', '2', '-subj', `/CN=${name}`, '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
  return { cert, key, pem: readFileSync(cert, 'utf8') };
}

async function wsDaemon(listen: string, extra: string[] = []): Promise<DaemonProcess> {
  const d = await startDaemonProcess(mkdtempSync(path.join(os.tmpdir(), 'sd-w-')), ['--listen', listen, '--token-env', 'TEST_BACKEND_TOKEN', ...extra], { TEST_BACKEND_TOKEN: TOKEN });
  daemons.push(d);
  return d;
}

/** The HTTP status a raw WebSocket handshake gets (101 when let in). */
function handshakeStatus(url: string, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers });
    ws.once('unexpected-response', (_req, res) => {
      resolve(res.statusCode ?? 0);
      ws.terminate();
    });
    ws.once('open', () => {
      resolve(101);
      ws.close();
    });
    ws.once('error', (e) => reject(e));
  });
}

before(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'selfdev-ws-test-'));
  job = await scoreParamsFactory();
});
after(() => {
  for (const d of daemons) d.child.kill('SIGKILL');
});

describe('the WebSocket transport', () => {
  it('lets in only the bearer token in the Authorization header', async () => {
    const d = await wsDaemon('ws://127.0.0.1:0');
    const url = d.websocketUrl!;
    assert.match(url, /^ws:\/\/127\.0\.0\.1:\d+$/);
    assert.equal(await handshakeStatus(url, {}), 401, 'no token');
    assert.equal(await handshakeStatus(url, { Authorization: 'Bearer wrong-token-0123456789' }), 401, 'a wrong token');
    assert.equal(await handshakeStatus(url, { Authorization: `Basic ${TOKEN}` }), 401, 'another scheme');
    assert.equal(await handshakeStatus(`${url}/?token=${TOKEN}`, {}), 401, 'the token in the URL');
    assert.equal(await handshakeStatus(`${url}/?access_token=${TOKEN}`, { Authorization: `Bearer ${TOKEN}` }), 401, 'a token in the URL, even with the header');
    assert.equal(await handshakeStatus(url, { Authorization: `Bearer ${TOKEN}` }), 101);
    assert.match(d.log(), /refused a WebSocket client from 127\.0\.0\.1: no valid bearer token/);
    assert.ok(!d.log().includes(TOKEN), 'the token is never logged');
  });

  it('runs a job through an authenticated link, and reports a refused token as an error that retrying cannot fix', async () => {
    const d = await wsDaemon('ws://127.0.0.1:0');
    const b = await connectRemoteBackend({ connect: () => connectWebSocket({ url: d.websocketUrl!, token: TOKEN }), clientVersion: 'test', name: d.websocketUrl! });
    try {
      assert.equal(b.info.daemonId, d.daemonId);
      const r = await b.score(job('w1/dev/a1'));
      assert.equal(r.status, 'ok', r.message);
      assert.equal(computedJobs(d.log()).get('w1/dev/a1'), 1);
    } finally {
      await b.dispose();
    }
    await assert.rejects(
      connectRemoteBackend({ connect: () => connectWebSocket({ url: d.websocketUrl!, token: 'wrong-token-0123456789' }), clientVersion: 'test', name: 'ws' }),
      (e: Error & { fatal?: boolean }) => e.fatal === true && /refused the token \(401\)/.test(e.message),
    );
  });

  it('refuses to listen off loopback without TLS, or with a short token', async () => {
    assert.throws(() => checkListenOptions({ url: 'ws://0.0.0.0:8765', token: TOKEN }), /without TLS would send the token in clear text/);
    assert.throws(() => checkListenOptions({ url: 'ws://10.1.2.3:8765', token: TOKEN }), /without TLS/);
    assert.throws(() => checkListenOptions({ url: 'wss://0.0.0.0:8765', token: TOKEN }), /needs a certificate and its key/);
    assert.throws(() => checkListenOptions({ url: 'ws://127.0.0.1:8765', token: 'short' }), /at least 16 characters/);
    assert.doesNotThrow(() => checkListenOptions({ url: 'ws://127.0.0.1:8765', token: TOKEN }));
    await assert.rejects(wsDaemon('ws://0.0.0.0:0'), /exited \(1\).*without TLS would send the token in clear text/s);
    // The client side refuses the same, and a token in its address.
    assert.throws(() => checkWebSocketTarget({ url: 'ws://gpu1.example:8765', token: TOKEN }), /clear text: use wss/);
    assert.throws(() => checkWebSocketTarget({ url: `ws://127.0.0.1:8765/?token=${TOKEN}`, token: TOKEN }), /no credentials or query/);
    assert.throws(() => checkWebSocketTarget({ url: 'ws://127.0.0.1:8765', token: '' }), /needs its bearer token/);
  });

  it('accepts a self-signed certificate only when pinned', async () => {
    const served = selfSigned('served');
    const other = selfSigned('other');
    const d = await wsDaemon('wss://127.0.0.1:0', ['--tls-cert', served.cert, '--tls-key', served.key]);
    const url = d.websocketUrl!;
    assert.match(url, /^wss:\/\//);
    const attempt = (pinnedCertificate?: string) => connectRemoteBackend({ connect: () => connectWebSocket({ url, token: TOKEN, pinnedCertificate }), clientVersion: 'test', name: url });

    await assert.rejects(attempt(), (e: Error & { fatal?: boolean }) => e.fatal === true && /self[- ]signed certificate.*must be pinned/i.test(e.message));
    await assert.rejects(attempt(other.pem), (e: Error & { fatal?: boolean }) => e.fatal === true && /certificate/i.test(e.message));
    const b = await attempt(served.pem);
    try {
      assert.equal(b.info.daemonId, d.daemonId);
    } finally {
      await b.dispose();
    }
    assert.ok(!/Bearer|token [^i]/.test(d.log().replace(/no valid bearer token/g, '')), 'nothing about the token in the log');
  });
});
