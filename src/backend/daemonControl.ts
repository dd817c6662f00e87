// `selfdev backend status|stop` on the daemon's machine: asks the daemon of a state folder
// through its unix socket, without starting one.
import { createMessageConnection } from 'vscode-jsonrpc/node';
import { StatusRequest, StopRequest, type DaemonStatus } from '../protocol/backend';
import { socketPath } from './daemonPaths';
import { connectSocket } from './links/socketLink';

export type DaemonAnswer = { running: false; socket: string } | { running: true; status: DaemonStatus; stopped?: boolean };

export async function askDaemon(stateDir: string, what: 'status' | 'stop', timeoutMs = 10_000): Promise<DaemonAnswer> {
  const sock = socketPath(stateDir);
  let link;
  try {
    link = await connectSocket(sock);
  } catch {
    return { running: false, socket: sock };
  }
  const conn = createMessageConnection(link.reader, link.writer);
  conn.listen();
  const timer = setTimeout(() => link.close(), timeoutMs);
  try {
    const status = await conn.sendRequest(StatusRequest);
    if (what === 'stop') {
      // Stopped when the daemon closes the socket (it hangs up every client first, maybe before
      // its answer is written).
      await Promise.race([conn.sendRequest(StopRequest).then(() => link.closed), link.closed]);
      return { running: true, status, stopped: true };
    }
    return { running: true, status };
  } finally {
    clearTimeout(timer);
    conn.dispose();
    link.close();
  }
}
