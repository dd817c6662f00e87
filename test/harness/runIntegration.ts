// Runs the mocha suite of test/integration inside a real VS Code extension host.
// Here: code-server driven by Debian Chromium. Elsewhere (a machine that can download VS Code):
// @vscode/test-electron. SELFDEV_VSCODE=code-server|electron forces one; if neither can run, this
// exits non-zero: the tier never passes by skipping.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { codeServerBin, installExtension, launchBrowser, makeSandbox, startCodeServer } from './codeServer';
import { repoRoot } from './paths';
import { readResult, writeResult, type TierResult } from './results';

const SUITE = path.join(repoRoot, 'out', 'test', 'integration', 'index');
const TIMEOUT_MS = 10 * 60_000;
// Workbench chatter that says nothing about the suite (offline gallery, connection set-up).
const WORKBENCH_NOISE = /open-vsx|connection token|Creating a socket|Service Worker|additional builtin extensions|ChatSessionStore/;

interface Pass {
  /** Open the sandbox's workspace folder, or a window with no folder. */
  folder: boolean;
  suite: 'workspace' | 'no-workspace';
}

const PASSES: Pass[] = [
  { folder: true, suite: 'workspace' },
  { folder: false, suite: 'no-workspace' },
];

/** The test peer of the Python extension's API (test/fixtures/python-extension-peer) as a .vsix. */
function pythonExtensionPeer(): string {
  const out = path.join(mkdtempSync(path.join(os.tmpdir(), 'selfdev-pyext-')), 'python-peer.vsix');
  execFileSync(path.join(repoRoot, 'node_modules', '.bin', 'vsce'), ['package', '--out', out, '--allow-missing-repository', '--skip-license'], {
    cwd: path.join(repoRoot, 'test', 'fixtures', 'python-extension-peer'),
    stdio: 'pipe',
  });
  return out;
}

/** The interpreter the peer reports: the tests' Python, as an absolute path. */
function peerInterpreter(): string {
  const python = process.env.SELFDEV_PYTHON ?? 'python3';
  return execFileSync(python, ['-c', 'import sys; print(sys.executable)'], { encoding: 'utf8' }).trim();
}

async function inCodeServer(resultsFile: string, pass: Pass): Promise<number> {
  const sandbox = makeSandbox(`integration-${pass.suite}`);
  if (pass.folder) installExtension(sandbox, pythonExtensionPeer());
  const server = await startCodeServer(sandbox, {
    SELFDEV_TEST_RESULTS: resultsFile,
    SELFDEV_TEST_WORKSPACE: sandbox.workspace,
    SELFDEV_TEST_SUITE: pass.suite,
    SELFDEV_TEST_PYTHON_EXTENSION_INTERPRETER: pass.folder ? peerInterpreter() : '',
  });
  const browser = await launchBrowser(sandbox);
  try {
    const page = browser.pages()[0] ?? (await browser.newPage());
    const exited = new Promise<number>((resolve) => {
      void page.exposeFunction('codeAutomationExit', (code: number) => resolve(code));
    });
    await page.exposeFunction('codeAutomationLog', (_level: string, msgs: unknown[]) => {
      const text = msgs.map(String).join(' ');
      if (!WORKBENCH_NOISE.test(text)) process.stdout.write(`${text}\n`);
    });
    const host = new URL(server.origin).host;
    const remote = (p: string) => `vscode-remote://${host}${p}`;
    const payload = [
      ['extensionDevelopmentPath', remote(repoRoot)],
      ['extensionTestsPath', remote(SUITE)],
      ['skipWelcome', 'true'],
    ];
    const folder = pass.folder ? `folder=${encodeURIComponent(sandbox.workspace)}&` : 'ew=true&';
    const url = `${server.origin}/?${folder}payload=${encodeURIComponent(JSON.stringify(payload))}`;
    await page.goto(url);
    const timeout = new Promise<number>((resolve) => setTimeout(() => resolve(124), TIMEOUT_MS).unref());
    const code = await Promise.race([exited, timeout]);
    if (code === 124) console.error(`integration: the suite did not finish in ${TIMEOUT_MS / 60_000} minutes (log: ${server.logFile})`);
    return code;
  } finally {
    await browser.close().catch(() => undefined);
    await server.stop();
  }
}

async function inElectron(resultsFile: string, pass: Pass): Promise<number> {
  const { runTests } = await import('@vscode/test-electron');
  const sandbox = makeSandbox(`integration-electron-${pass.suite}`);
  try {
    return await runTests({
      extensionDevelopmentPath: repoRoot,
      extensionTestsPath: SUITE,
      launchArgs: [...(pass.folder ? [sandbox.workspace] : []), '--disable-extensions', '--user-data-dir', sandbox.userDataDir],
      extensionTestsEnv: { SELFDEV_TEST_RESULTS: resultsFile, SELFDEV_TEST_WORKSPACE: sandbox.workspace, SELFDEV_TEST_SUITE: pass.suite },
    });
  } catch (err) {
    console.error(`integration: VS Code (electron) could not run: ${(err as Error).message}`);
    return 1;
  }
}

async function main(): Promise<void> {
  const resultsFile = process.env.SELFDEV_TIER_RESULTS ?? path.join(repoRoot, 'test-output', 'integration.json');
  const forced = process.env.SELFDEV_VSCODE;
  const harness = forced ?? (codeServerBin() ? 'code-server' : 'electron');
  const total: TierResult = { passed: 0, failed: 0, skipped: 0 };
  let ok = true;
  for (const pass of PASSES) {
    const passFile = resultsFile.replace(/(\.json)?$/, `-${pass.suite}.json`);
    rmSync(passFile, { force: true });
    console.log(`integration: running the ${pass.suite} suite in ${harness}${pass.folder ? '' : ' (a window with no folder)'}`);
    const code = harness === 'code-server' ? await inCodeServer(passFile, pass) : await inElectron(passFile, pass);
    const result: TierResult | undefined = readResult(passFile);
    if (!result) {
      console.error(`integration: the ${pass.suite} suite reported no results (it did not run)`);
      total.failed += 1;
      ok = false;
      continue;
    }
    total.passed += result.passed;
    total.failed += result.failed;
    total.skipped += result.skipped;
    ok &&= code === 0 && result.failed === 0;
  }
  writeResult(resultsFile, total);
  process.exitCode = ok ? 0 : 1;
}

void main().catch((err: unknown) => {
  console.error(`integration: ${(err as Error).stack ?? err}`);
  process.exitCode = 1;
});
