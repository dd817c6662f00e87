// Where the loop's jobs run, for the CLI and the extension alike: this installation's local
// backend process, or a daemon reached over ssh (deployed first), a WebSocket, or a unix socket
// on this machine. One parser of `--backend` and one opener, so both front ends agree.
import { readFileSync } from 'node:fs';
import { startLocalBackend } from '../backend/client';
import { bridgeCommand, deployBackend, type DeployReport, type RemoteHost } from '../backend/deploy';
import { checkDestination, connectSsh } from '../backend/links/sshLink';
import { connectSocket } from '../backend/links/socketLink';
import { connectWebSocket } from '../backend/links/wsLink';
import { connectRemoteBackend, type LinkState } from '../backend/remoteBackend';
import type { RunHeader } from '../core/run/runFiles';
import type { Backend } from '../protocol/backend';
import { artifactsDir, backendScript, journalDir, type Installation } from './runs';

export type BackendTarget =
  | { kind: 'local' }
  | { kind: 'ssh'; host: RemoteHost }
  | { kind: 'websocket'; url: string; token: string; pinnedCertificate?: string }
  | { kind: 'unix'; socket: string };

/** The environment variable the CLI reads a WebSocket backend's token from. */
export const TOKEN_ENV = 'SELFDEV_BACKEND_TOKEN';

export interface BackendSpecOptions {
  /** ssh: a config file for ssh -F. */
  sshConfig?: string;
  /** ssh: Node and Python on the host, and the backend's folder there. */
  remoteNode?: string;
  remotePython?: string;
  remoteDir?: string;
  /** websocket: the bearer token; the PEM file of a pinned self-signed certificate. */
  token?: string;
  pinnedCertificateFile?: string;
}

/**
 * Reads a backend address: "local"; "ssh://[user@]host[:port]" (or a Host of ~/.ssh/config);
 * "ws://host:port" or "wss://host:port"; "unix:/path/to/daemon.sock".
 */
export function parseBackendSpec(spec: string, o: BackendSpecOptions = {}): BackendTarget {
  if (spec === 'local') return { kind: 'local' };
  if (spec.startsWith('unix:')) return { kind: 'unix', socket: spec.slice('unix:'.length) };
  if (spec.startsWith('ws://') || spec.startsWith('wss://')) {
    if (!o.token) throw new Error(`a WebSocket backend needs its bearer token in $${TOKEN_ENV}`);
    return { kind: 'websocket', url: spec, token: o.token, pinnedCertificate: o.pinnedCertificateFile ? readFileSync(o.pinnedCertificateFile, 'utf8') : undefined };
  }
  if (spec.startsWith('ssh://')) {
    const m = /^ssh:\/\/([^/:]+)(?::(\d+))?\/?$/.exec(spec);
    if (!m) throw new Error(`"${spec}" is not an ssh address (ssh://[user@]host[:port])`);
    const sshOptions = [...(o.sshConfig ? ['-F', o.sshConfig] : []), ...(m[2] ? ['-p', m[2]] : [])];
    return { kind: 'ssh', host: { destination: checkDestination(m[1]), sshOptions, node: o.remoteNode, python: o.remotePython, dir: o.remoteDir } };
  }
  throw new Error(`"${spec}" is not a backend: local, ssh://host, ws://host:port, wss://host:port or unix:/path`);
}

/** How run.json and the status bar name a backend. */
export function describeTarget(t: BackendTarget): NonNullable<RunHeader['backend']> {
  switch (t.kind) {
    case 'local':
      return { kind: 'local' };
    case 'ssh':
      return { kind: 'ssh', target: t.host.destination };
    case 'websocket':
      return { kind: 'websocket', target: t.url };
    case 'unix':
      return { kind: 'unix', target: t.socket };
  }
}

export interface OpenBackendOptions {
  /** The local backend's stderr. */
  onStderr?: (text: string) => void;
  /** Added to the local backend's environment (a key from secret storage); the runner it starts
   * for generated code never gets them (runnerEnvironment passes a fixed list). A remote daemon
   * reads its keys from its own environment. */
  secrets?: Record<string, string>;
  /** A remote link's state: connected, reconnecting (with why), lost. */
  onState?: (state: LinkState, detail: string) => void;
  /** Deploy's steps, for a progress notification. */
  onProgress?: (message: string) => void;
  /** Heartbeat and backoff of remote links (tests shorten them). */
  heartbeatIntervalMs?: number;
  heartbeatTimeoutMs?: number;
}

export interface OpenedBackend {
  backend: Backend;
  /** "local", "ssh gpu1", "wss://gpu1:8765". */
  label: string;
  /** Python on the backend's machine for generated code, where it is not this machine's. */
  python?: string;
  deploy?: DeployReport;
}

export async function openBackend(inst: Installation, runsDir: string, target: BackendTarget, o: OpenBackendOptions = {}): Promise<OpenedBackend> {
  const remote = { clientVersion: inst.version, onState: o.onState, heartbeatIntervalMs: o.heartbeatIntervalMs, heartbeatTimeoutMs: o.heartbeatTimeoutMs };
  switch (target.kind) {
    case 'local':
      return {
        backend: await startLocalBackend({ script: backendScript(inst), clientVersion: inst.version, journalDir: journalDir(runsDir), artifactsDir: artifactsDir(runsDir), onStderr: o.onStderr, env: { ...process.env, ...o.secrets } }),
        label: 'local',
      };
    case 'ssh': {
      const report = await deployBackend(target.host, { root: inst.root, version: inst.version, onProgress: o.onProgress });
      const command = bridgeCommand(target.host, report.installDir, report.stateDir);
      const label = `ssh ${target.host.destination}`;
      o.onProgress?.(`connecting to the daemon on ${target.host.destination}`);
      const backend = await connectRemoteBackend({ ...remote, name: label, connect: () => connectSsh(target.host, command) });
      return { backend, label, python: target.host.python ?? 'python3', deploy: report };
    }
    case 'websocket':
      return { backend: await connectRemoteBackend({ ...remote, name: target.url, connect: () => connectWebSocket(target) }), label: target.url, python: 'python3' };
    case 'unix':
      return { backend: await connectRemoteBackend({ ...remote, name: `daemon ${target.socket}`, connect: () => connectSocket(target.socket) }), label: `daemon ${target.socket}` };
  }
}
