// A link to a daemon's WebSocket listener (`ws`). The token goes in the Authorization header only
// and never over clear text off loopback; a self-signed certificate is trusted only when pinned
// (the PEM the daemon was started with): it is then the only trust anchor and its exact
// fingerprint is checked, so no other certificate passes.
import { X509Certificate } from 'node:crypto';
import type { PeerCertificate } from 'node:tls';
import { StreamMessageReader, StreamMessageWriter } from 'vscode-jsonrpc/node';
import WebSocket, { createWebSocketStream } from 'ws';
import type { Link } from '../remoteBackend';
import { isLoopbackHost, parseWebSocketUrl } from '../wsAddress';

export interface WebSocketTarget {
  url: string;
  token: string;
  /** PEM of the daemon's certificate, for a self-signed one. */
  pinnedCertificate?: string;
}

export function checkWebSocketTarget(t: WebSocketTarget): URL {
  const url = parseWebSocketUrl(t.url);
  if (url.search || url.username || url.password) throw new Error('put no credentials or query in the backend address: the token goes in the Authorization header, from secret storage or an environment variable');
  if (url.protocol === 'ws:' && !isLoopbackHost(url.hostname)) throw new Error(`ws://${url.hostname} would send the token in clear text: use wss://`);
  if (!t.token) throw new Error('the WebSocket backend needs its bearer token (Select Backend… keeps it in secret storage; the CLI reads SELFDEV_BACKEND_TOKEN)');
  return url;
}

export function connectWebSocket(t: WebSocketTarget, handshakeTimeoutMs = 20_000): Promise<Link> {
  const url = checkWebSocketTarget(t);
  const pin = t.pinnedCertificate ? new X509Certificate(t.pinnedCertificate) : undefined;
  const ws = new WebSocket(url, {
    headers: { Authorization: `Bearer ${t.token}` },
    handshakeTimeout: handshakeTimeoutMs,
    maxPayload: 256 * 2 ** 20,
    ...(pin
      ? {
          ca: [t.pinnedCertificate!],
          checkServerIdentity: (_host: string, cert: PeerCertificate) =>
            cert.fingerprint256 === pin.fingerprint256 ? undefined : new Error(`the server's certificate (${cert.fingerprint256}) is not the pinned one (${pin.fingerprint256})`),
        }
      : {}),
  });
  return new Promise((resolve, reject) => {
    const fail = (err: Error, fatal: boolean) => {
      ws.removeAllListeners();
      ws.on('error', () => undefined);
      ws.terminate();
      reject(Object.assign(err, { fatal }));
    };
    ws.once('unexpected-response', (_req, res) => {
      const status = res.statusCode ?? 0;
      fail(new Error(status === 401 ? `${url.origin} refused the token (401): check the token kept for this backend` : `${url.origin} answered HTTP ${status} instead of a WebSocket`), status === 401 || status === 403);
    });
    ws.once('error', (err: Error & { code?: string }) => {
      const tlsProblem = /certificate|self[- ]signed|CERT_|pinned/i.test(`${err.code ?? ''} ${err.message}`);
      fail(new Error(tlsProblem ? `${url.origin}: ${err.message}; a self-signed certificate must be pinned (its PEM file in the backend settings)` : `${url.origin}: ${err.message}`), tlsProblem);
    });
    ws.once('open', () => {
      ws.removeAllListeners('error');
      const stream = createWebSocketStream(ws);
      stream.on('error', () => ws.terminate());
      const link: Link = {
        reader: new StreamMessageReader(stream),
        writer: new StreamMessageWriter(stream),
        closed: new Promise<string>((r) => ws.once('close', (code) => r(`the WebSocket closed (${code})`))),
        close: () => ws.terminate(),
      };
      resolve(link);
    });
  });
}
