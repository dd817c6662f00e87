// The daemon's WebSocket listener (`ws`): a client is let in only with the bearer token in its
// Authorization header; a token in the URL is refused even when the header is right (URLs end
// up in logs and proxies). Loopback by default; any other address needs TLS, so the token never
// crosses a network in clear text.
import { timingSafeEqual, createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import type { Duplex } from 'node:stream';
import { StreamMessageReader, StreamMessageWriter, type MessageReader, type MessageWriter } from 'vscode-jsonrpc/node';
import { createWebSocketStream, WebSocketServer } from 'ws';
import { isLoopbackHost, parseWebSocketUrl } from './wsAddress';

export interface WebSocketListenOptions {
  /** ws://127.0.0.1:8765 (port 0: any free port), or wss://0.0.0.0:8765 with a certificate. */
  url: string;
  token: string;
  /** PEM files of the certificate and its key (a self-signed one works when clients pin it). */
  tlsCert?: string;
  tlsKey?: string;
}

export const MIN_TOKEN_LENGTH = 16;


/** Query parameters that would carry a credential in the URL. */
const URL_CREDENTIALS = /(^|[?&])(token|access_token|auth|authorization|bearer|key|api_key)=/i;

export function checkListenOptions(o: WebSocketListenOptions): URL {
  const url = parseWebSocketUrl(o.url);
  const tls = url.protocol === 'wss:';
  if (tls && !(o.tlsCert && o.tlsKey)) throw new Error('a wss:// listener needs a certificate and its key (--tls-cert and --tls-key)');
  if (!tls && !isLoopbackHost(url.hostname)) {
    throw new Error(`listening on ${url.hostname} without TLS would send the token in clear text: use wss:// with --tls-cert and --tls-key, or a loopback address`);
  }
  if (!o.token || o.token.length < MIN_TOKEN_LENGTH) throw new Error(`the WebSocket listener needs a bearer token of at least ${MIN_TOKEN_LENGTH} characters`);
  return url;
}

/** Whether a request carries exactly this bearer token, in its header only. */
export function authorized(req: http.IncomingMessage, token: string): boolean {
  if (URL_CREDENTIALS.test((req.url ?? '').split('?')[1] ?? '')) return false;
  const m = /^Bearer ([^\s]+)$/.exec(req.headers.authorization ?? '');
  if (!m) return false;
  // Compared as hashes: equal lengths for timingSafeEqual, and no early exit on the first byte.
  const digest = (s: string) => createHash('sha256').update(s).digest();
  return timingSafeEqual(digest(m[1]), digest(token));
}

export async function startWebSocketListener(
  opts: WebSocketListenOptions,
  accept: (reader: MessageReader, writer: MessageWriter, hangUp: () => void) => void,
  log: (text: string) => void,
): Promise<{ url: string; close(): Promise<void> }> {
  const url = checkListenOptions(opts);
  const tls = url.protocol === 'wss:';
  const server = tls ? https.createServer({ cert: readFileSync(opts.tlsCert!), key: readFileSync(opts.tlsKey!) }) : http.createServer();
  server.on('request', (_req, res) => {
    res.writeHead(426, { 'Content-Type': 'text/plain' }).end('this is a Self-Developing backend: connect with a WebSocket\n');
  });
  const wss = new WebSocketServer({ noServer: true, maxPayload: 256 * 2 ** 20 });
  server.on('upgrade', (req, socket: Duplex, head) => {
    if (!authorized(req, opts.token)) {
      log(`refused a WebSocket client from ${req.socket.remoteAddress}: no valid bearer token in its Authorization header\n`);
      socket.end('HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Bearer\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      const stream = createWebSocketStream(ws);
      stream.on('error', () => ws.terminate());
      accept(new StreamMessageReader(stream), new StreamMessageWriter(stream), () => ws.terminate());
    });
  });
  const host = url.hostname.replace(/^\[|\]$/g, '');
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(Number(url.port || (tls ? 443 : 80)), host, () => resolve());
  });
  const port = (server.address() as { port: number }).port;
  const shown = `${url.protocol}//${url.hostname}:${port}`;
  return {
    url: shown,
    close: () =>
      new Promise<void>((resolve) => {
        for (const c of wss.clients) c.terminate();
        wss.close();
        server.close(() => resolve());
        server.closeAllConnections?.();
      }),
  };
}
