// A link to a daemon on this machine, through its unix socket (`selfdev backend status`, tests).
import * as net from 'node:net';
import { SocketMessageReader, SocketMessageWriter } from 'vscode-jsonrpc/node';
import type { Link } from '../remoteBackend';

export function connectSocket(sock: string): Promise<Link> {
  return new Promise((resolve, reject) => {
    const socket = net.createConnection(sock);
    socket.once('error', (err) => reject(new Error(`no backend daemon answers on ${sock}: ${err.message}`)));
    socket.once('connect', () => {
      const closed = new Promise<string>((r) => socket.once('close', () => r('the socket closed')));
      socket.on('error', () => socket.destroy());
      resolve({ reader: new SocketMessageReader(socket), writer: new SocketMessageWriter(socket), closed, close: () => socket.destroy() });
    });
  });
}
