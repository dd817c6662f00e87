// A second sshd (Debian's openssh-server) on 127.0.0.1 with its own config, host key, client key
// and known_hosts in a temporary folder, for the ssh transport's tests. The client side is an
// ssh_config file: Host "selfdev-test" (known host key) and Host "selfdev-unknown" (the same
// server with an empty known_hosts, for host-key failures).
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import * as net from 'node:net';
import { freePort } from './ports';
import * as os from 'node:os';
import * as path from 'node:path';

export const SSHD = '/usr/sbin/sshd';

export interface LoopbackSshd {
  dir: string;
  port: number;
  /** ssh_config for the client (`ssh -F`). */
  config: string;
  host: 'selfdev-test';
  unknownHost: 'selfdev-unknown';
  child: ChildProcess;
  stop(): void;
}

export const sshdAvailable = () => existsSync(SSHD);

export async function startLoopbackSshd(): Promise<LoopbackSshd> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'selfdev-sshd-'));
  const key = (name: string) => execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', name, '-f', path.join(dir, name)], { stdio: 'ignore' });
  key('host_key');
  key('client_key');
  writeFileSync(path.join(dir, 'authorized_keys'), readFileSync(path.join(dir, 'client_key.pub')), { mode: 0o600 });
  const port = await freePort();
  const user = os.userInfo().username;
  // Privilege separation needs this folder when sshd runs as root.
  if (process.getuid?.() === 0) mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
  const sshdConfig = path.join(dir, 'sshd_config');
  writeFileSync(
    sshdConfig,
    [
      `Port ${port}`,
      'ListenAddress 127.0.0.1',
      `HostKey ${path.join(dir, 'host_key')}`,
      `PidFile ${path.join(dir, 'sshd.pid')}`,
      `AuthorizedKeysFile ${path.join(dir, 'authorized_keys')}`,
      'PubkeyAuthentication yes',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'UsePAM no',
      'StrictModes no',
      'PermitRootLogin prohibit-password',
      `AllowUsers ${user}`,
      'LogLevel ERROR',
      '',
    ].join('\n'),
  );
  const hostKey = readFileSync(path.join(dir, 'host_key.pub'), 'utf8').split(' ').slice(0, 2).join(' ');
  writeFileSync(path.join(dir, 'known_hosts'), `[127.0.0.1]:${port} ${hostKey}\n`);
  writeFileSync(path.join(dir, 'known_hosts_empty'), '');
  const config = path.join(dir, 'ssh_config');
  const hostBlock = (name: string, knownHosts: string) => [
    `Host ${name}`,
    '  HostName 127.0.0.1',
    `  Port ${port}`,
    `  User ${user}`,
    `  IdentityFile ${path.join(dir, 'client_key')}`,
    '  IdentitiesOnly yes',
    `  UserKnownHostsFile ${path.join(dir, knownHosts)}`,
    '  GlobalKnownHostsFile /dev/null',
    '  StrictHostKeyChecking yes',
    '  LogLevel ERROR',
  ];
  writeFileSync(config, [...hostBlock('selfdev-test', 'known_hosts'), ...hostBlock('selfdev-unknown', 'known_hosts_empty'), ''].join('\n'));

  const child = spawn(SSHD, ['-D', '-e', '-f', sshdConfig], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  // Ready when the port accepts connections.
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`sshd exited (${child.exitCode}): ${stderr}`);
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.createConnection(port, '127.0.0.1');
      s.once('connect', () => (s.destroy(), resolve(true)));
      s.once('error', () => resolve(false));
    });
    if (ok) break;
    if (Date.now() > deadline) throw new Error(`sshd did not listen on ${port}: ${stderr}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return { dir, port, config, host: 'selfdev-test', unknownHost: 'selfdev-unknown', child, stop: () => child.kill('SIGTERM') };
}
