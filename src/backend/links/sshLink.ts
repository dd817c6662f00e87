// A link to a daemon through the system's ssh client: it honours ~/.ssh/config, ProxyJump, the
// agent and known_hosts. Batch mode, so ssh never prompts (a prompt nobody sees would hang the
// link); what ssh says on failure becomes a clear error. The remote runs the bridge, which joins
// this stdio to the daemon's private unix socket: no port is opened on the remote.
import { spawn } from 'node:child_process';
import { StreamMessageReader, StreamMessageWriter } from 'vscode-jsonrpc/node';
import type { Link } from '../remoteBackend';
import { shellQuote } from '../shellQuote';

export interface SshTarget {
  /** user@host, or a Host of ~/.ssh/config (ports and jumps belong there). */
  destination: string;
  /** The ssh client (default: ssh on PATH). */
  ssh?: string;
  /** Options before the destination, e.g. ['-F', 'config'] or ['-p', '2222']. */
  sshOptions?: string[];
}

/** What a destination may look like; above all it must not start with "-" (an ssh option). */
export const SSH_DESTINATION = /^[A-Za-z0-9_][A-Za-z0-9_.@:%+-]*$/;

export function checkDestination(destination: string): string {
  if (!SSH_DESTINATION.test(destination)) throw new Error(`"${destination}" is not an ssh destination (user@host, or a Host of ~/.ssh/config)`);
  return destination;
}


export function sshArgs(t: SshTarget, remote: string[]): string[] {
  return [...(t.sshOptions ?? []), '-T', '-o', 'BatchMode=yes', '-o', 'ConnectTimeout=20', '--', checkDestination(t.destination), remote.map(shellQuote).join(' ')];
}

/** ssh's own words for failures that retrying cannot fix, and what to do. */
const FATAL: [RegExp, string][] = [
  [/REMOTE HOST IDENTIFICATION HAS CHANGED|Host key verification failed|No \w+ host key is known|host key .* not .*known/i, 'its host key is unknown or has changed: check it and accept it once with `ssh {dest}` in a terminal (known_hosts), then try again'],
  [/Permission denied/i, 'ssh authentication failed (batch mode: keys or the agent only, never a password prompt); set up key login for {dest}'],
  [/Could not resolve hostname/i, 'the host name does not resolve'],
  [/(node|backend\.js)\S*:.*(command not found|No such file or directory|not found)|(command not found|No such file or directory).*(node|backend\.js)/i, 'the backend is not installed there (or node is missing): run Select Backend… to deploy it'],
];

export function explainSshFailure(stderr: string, destination: string): { reason: string; fatal: boolean } {
  const said = stderr.trim().split('\n').filter(Boolean).slice(-3).join(' | ');
  for (const [re, hint] of FATAL) if (re.test(stderr)) return { reason: `ssh ${destination}: ${hint.replace('{dest}', destination)} (ssh said: ${said})`, fatal: true };
  return { reason: `ssh ${destination} ended${said ? `: ${said}` : ''}`, fatal: false };
}

/** Runs `remote` on the target with ssh and makes its stdio a link. */
export function connectSsh(t: SshTarget, remote: string[]): Promise<Link> {
  const child = spawn(t.ssh ?? 'ssh', sshArgs(t, remote), { stdio: ['pipe', 'pipe', 'pipe'], windowsHide: true });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  const link: Link = {
    pid: child.pid,
    reader: new StreamMessageReader(child.stdout),
    writer: new StreamMessageWriter(child.stdin),
    closed: new Promise<string>((resolve) => {
      const end = (detail: string) => {
        const { reason, fatal } = explainSshFailure(stderr, t.destination);
        link.fatal = fatal;
        resolve(fatal || stderr.trim() ? reason : `ssh ${t.destination} ended (${detail})`);
      };
      child.once('exit', (code, sig) => end(sig ? `signal ${sig}` : `exit code ${code}`));
      child.once('error', (err) => end(err.message));
    }),
    close: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
  };
  child.stdin.on('error', () => undefined);
  return Promise.resolve(link);
}

/** Runs one command on the target and returns its output (deploy's checks and copies). */
export function sshExec(t: SshTarget, remote: string[], opts: { input?: NodeJS.ReadableStream | Buffer; timeoutMs?: number } = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(t.ssh ?? 'ssh', sshArgs(t, remote), { stdio: ['pipe', 'pipe', 'pipe'], windowsHide: true });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-8000)));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 120_000);
    child.once('error', (err) => (clearTimeout(timer), reject(new Error(`could not run ssh: ${err.message}`))));
    child.once('close', (code) => (clearTimeout(timer), resolve({ code: code ?? -1, stdout, stderr })));
    child.stdin.on('error', () => undefined);
    if (Buffer.isBuffer(opts.input)) child.stdin.end(opts.input);
    else if (opts.input) (opts.input as NodeJS.ReadableStream).pipe(child.stdin);
    else child.stdin.end();
  });
}
