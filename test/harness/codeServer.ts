// Starts a real VS Code (code-server) and a real browser (Debian Chromium through
// playwright-core) for the integration and e2e tiers. Facts behind it: shared TESTING.md.
import { spawn, execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';
import { repoRoot } from './paths';

export const CHROMIUM = process.env.SELFDEV_CHROMIUM ?? '/usr/bin/chromium';

/** code-server from the project cache (scripts/install-code-server.sh), else from PATH. */
export function codeServerBin(): string | undefined {
  const cached = path.join(repoRoot, '.cache', 'code-server', 'node_modules', '.bin', 'code-server');
  if (existsSync(cached)) return cached;
  try {
    return execFileSync('sh', ['-c', 'command -v code-server'], { encoding: 'utf8' }).trim() || undefined;
  } catch {
    return undefined;
  }
}

export interface Sandbox {
  root: string;
  workspace: string;
  userDataDir: string;
  extensionsDir: string;
  env: NodeJS.ProcessEnv;
}

/** A fresh folder tree for one VS Code instance: workspace, user data, extensions, XDG dirs. */
export function makeSandbox(label: string, settings: Record<string, unknown> = {}): Sandbox {
  const root = mkdtempSync(path.join(os.tmpdir(), `selfdev-${label}-`));
  const dirs = { workspace: 'workspace', userDataDir: 'user-data', extensionsDir: 'extensions', xdg: 'xdg' };
  for (const d of Object.values(dirs)) mkdirSync(path.join(root, d), { recursive: true });
  mkdirSync(path.join(root, 'user-data', 'User'), { recursive: true });
  writeFileSync(
    path.join(root, 'user-data', 'User', 'settings.json'),
    JSON.stringify(
      {
        'workbench.startupEditor': 'none',
        'security.workspace.trust.enabled': false,
        'telemetry.telemetryLevel': 'off',
        'extensions.autoUpdate': false,
        'extensions.autoCheckUpdates': false,
        // The sandbox lives under /tmp, inside no repository of interest.
        'git.openRepositoryInParentFolders': 'never',
        ...settings,
      },
      null,
      2,
    ),
  );
  const xdg = path.join(root, 'xdg');
  return {
    root,
    workspace: path.join(root, 'workspace'),
    userDataDir: path.join(root, 'user-data'),
    extensionsDir: path.join(root, 'extensions'),
    env: { ...process.env, XDG_CONFIG_HOME: xdg, XDG_DATA_HOME: xdg, XDG_CACHE_HOME: xdg },
  };
}

export interface RunningCodeServer {
  origin: string;
  logFile: string;
  stop(): Promise<void>;
}

/** Installs a .vsix into the sandbox's extensions folder with code-server's own installer. */
export function installExtension(sandbox: Sandbox, vsix: string): void {
  const bin = requireCodeServer();
  execFileSync(bin, ['--extensions-dir', sandbox.extensionsDir, '--user-data-dir', sandbox.userDataDir, '--install-extension', vsix], {
    env: sandbox.env,
    stdio: 'pipe',
    timeout: 120_000,
  });
}

function requireCodeServer(): string {
  const bin = codeServerBin();
  if (!bin) throw new Error('code-server is not installed: run scripts/install-code-server.sh (or put code-server on PATH)');
  return bin;
}

/** Starts code-server in its own process group on a free loopback port. */
export async function startCodeServer(sandbox: Sandbox, extraEnv: NodeJS.ProcessEnv = {}): Promise<RunningCodeServer> {
  const bin = requireCodeServer();
  const logFile = path.join(sandbox.root, 'code-server.log');
  const log = openSync(logFile, 'a');
  const child = spawn(
    bin,
    [
      '--bind-addr', '127.0.0.1:0', '--auth', 'none', '--disable-telemetry', '--disable-update-check',
      '--disable-workspace-trust', '--disable-getting-started-override',
      '--user-data-dir', sandbox.userDataDir, '--extensions-dir', sandbox.extensionsDir, sandbox.workspace,
    ],
    { env: { ...sandbox.env, ...extraEnv }, detached: true, stdio: ['ignore', log, log] },
  );
  child.unref();
  const pgid = child.pid!;
  const stop = async () => {
    try {
      process.kill(-pgid, 'SIGTERM');
    } catch {
      return; // already gone
    }
    for (let i = 0; i < 50; i++) {
      await sleep(100);
      try {
        process.kill(-pgid, 0);
      } catch {
        return;
      }
    }
    try {
      process.kill(-pgid, 'SIGKILL');
    } catch {
      /* gone */
    }
  };
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    const m = /HTTP server listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(readFileSync(logFile, 'utf8'));
    if (m) return { origin: m[1], logFile, stop };
    if (child.exitCode !== null) break;
    await sleep(200);
  }
  await stop();
  throw new Error(`code-server did not start; its log (${logFile}):\n${readFileSync(logFile, 'utf8').slice(-3000)}`);
}

/** Debian Chromium, headless, with a fresh profile. Never downloads a browser. */
export async function launchBrowser(sandbox: Sandbox): Promise<BrowserContext> {
  if (!existsSync(CHROMIUM)) throw new Error(`Chromium not found at ${CHROMIUM}: apt-get install chromium (or set SELFDEV_CHROMIUM)`);
  const profile = path.join(sandbox.root, 'browser');
  mkdirSync(profile, { recursive: true });
  return chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1400, height: 900 },
    env: { ...process.env, HOME: profile },
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
