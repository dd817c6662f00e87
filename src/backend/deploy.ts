// Installs this installation's backend on an ssh host: the backend bundle, the Python runner and
// trainer, and the host platform's onnxruntime, into a folder named by version and content hash
// (`<remote dir>/dist/<version>-<hash12>`), made complete by a marker written last and guarded by
// a lock, so a second deploy of the same bundle only checks the marker. The host's Node, Python
// and kernel features are checked and reported; nothing is installed with pip.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, promises as fs } from 'node:fs';
import * as path from 'node:path';
import { PYTHON_PROBE, pythonProblems, type PythonReport } from '../engine/pythonProbe';
import type { BackendCapabilities } from './capabilities';
import { explainSshFailure, sshExec as sshExecRaw, type SshTarget } from './links/sshLink';

export interface RemoteHost extends SshTarget {
  /** Node on the host (default: node on its PATH). */
  node?: string;
  /** Python on the host that runs generated code (default: python3). */
  python?: string;
  /** The backend's folder on the host (default ~/.selfdev/backend): dist/ holds deployed
   * bundles, the rest is the daemon's state. */
  dir?: string;
}

export const MIN_REMOTE_NODE = 20;
const DEFAULT_REMOTE_DIR = '.selfdev/backend'; // relative to the remote home

export interface HostFacts {
  node: string;
  platform: string;
  home: string;
}

export interface DeployReport {
  host: string;
  /** The bundle's folder on the host. */
  installDir: string;
  /** The daemon's state folder on the host. */
  stateDir: string;
  /** False when the same bundle was there already. */
  installed: boolean;
  bytes: number;
  facts: HostFacts;
  capabilities: BackendCapabilities;
  python: PythonReport | { error: string };
  problems: string[];
}

/** The files of the backend bundle for a platform ("linux-x64"), relative to the installation. */
export async function bundleFiles(root: string, platform: string): Promise<string[]> {
  const [os, arch] = platform.split('-');
  const native = path.join('node_modules', 'onnxruntime-node', 'bin', 'napi-v6', os, arch);
  try {
    await fs.access(path.join(root, native, 'onnxruntime_binding.node'));
  } catch {
    throw new Error(`this installation has no onnxruntime binary for ${platform} (${native}); the backend cannot be deployed to that host`);
  }
  const files: string[] = [path.join('out', 'backend.js')];
  const walk = async (rel: string, keep: (f: string) => boolean = () => true) => {
    for (const e of await fs.readdir(path.join(root, rel), { withFileTypes: true })) {
      const r = path.join(rel, e.name);
      if (e.isDirectory()) {
        if (e.name !== '__pycache__') await walk(r, keep);
      } else if (e.isFile() && keep(r) && !r.endsWith('.pyc')) files.push(r);
    }
  };
  await walk(path.join('resources', 'python'));
  await walk(path.join('node_modules', 'onnxruntime-common'));
  const ort = path.join('node_modules', 'onnxruntime-node');
  files.push(path.join(ort, 'package.json'));
  await walk(path.join(ort, 'dist'));
  await walk(native);
  return files.sort();
}

/** sha256 over the bundle's names and contents: the same bundle gets the same folder. */
export async function bundleHash(root: string, files: string[]): Promise<string> {
  const h = createHash('sha256');
  for (const f of files) {
    const content = createHash('sha256');
    for await (const chunk of createReadStream(path.join(root, f))) content.update(chunk as Buffer);
    h.update(`${f.split(path.sep).join('/')}\0${content.digest('hex')}\n`);
  }
  return h.digest('hex');
}

/** One command on the host; ssh's own failures (exit 255) become its clear error. */
async function sshExec(host: RemoteHost, remote: string[], opts: Parameters<typeof sshExecRaw>[2] = {}): ReturnType<typeof sshExecRaw> {
  const r = await sshExecRaw(host, remote, opts);
  if (r.code === 255) throw new Error(explainSshFailure(r.stderr, host.destination).reason);
  return r;
}

async function hostFacts(host: RemoteHost): Promise<HostFacts> {
  const node = host.node ?? 'node';
  const r = await sshExec(host, [node, '-e', 'console.log(JSON.stringify({node:process.versions.node,platform:process.platform+"-"+process.arch,home:require("os").homedir()}))'], { timeoutMs: 60_000 });
  if (r.code !== 0) {
    if (r.code === 127 || /not found|No such file/.test(r.stderr)) throw new Error(`${host.destination} has no "${node}": install Node ${MIN_REMOTE_NODE} or later there (or set the remote Node path)`);
    throw new Error(`could not run Node on ${host.destination} (exit ${r.code}): ${r.stderr.trim().split('\n').slice(-2).join(' | ')}`);
  }
  const facts = JSON.parse(r.stdout.trim().split('\n').pop()!) as HostFacts;
  if (Number(facts.node.split('.')[0]) < MIN_REMOTE_NODE) throw new Error(`${host.destination} has Node ${facts.node}; the backend needs ${MIN_REMOTE_NODE} or later`);
  return facts;
}

export function remoteDirs(host: RemoteHost, facts: Pick<HostFacts, 'home'>, version: string, hash: string): { installDir: string; stateDir: string } {
  const base = host.dir ?? path.posix.join(facts.home, DEFAULT_REMOTE_DIR);
  return { installDir: path.posix.join(base, 'dist', `${version}-${hash.slice(0, 12)}`), stateDir: base };
}

// Installs the tar.gz on stdin into $1 unless it is complete; a lock (mkdir) keeps two deploys
// from writing the same folder, and a stale one (10 minutes) is taken over. Exit 75: busy.
const INSTALL = `set -e
D="$1"; H="$2"
[ -f "$D/.complete" ] && { echo present; exit 0; }
mkdir -p "$(dirname "$D")"
if ! mkdir "$D.lock" 2>/dev/null; then
  if [ -n "$(find "$D.lock" -maxdepth 0 -mmin +10 2>/dev/null)" ]; then rm -rf "$D.lock"; mkdir "$D.lock"; else cat >/dev/null; echo busy; exit 75; fi
fi
T="$D.tmp.$$"
trap 'rm -rf "$T" "$D.lock"' EXIT
rm -rf "$T" "$D"; mkdir -p "$T"
tar -xzf - -C "$T"
printf '%s\\n' "$H" > "$T/.complete"
mv "$T" "$D"
echo installed`;

/** Packs the files as tar.gz with the system tar. */
function tarGz(root: string, files: string[]): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const tar = spawn('tar', ['-czf', '-', '-C', root, '-T', '-'], { stdio: ['pipe', 'pipe', 'pipe'] });
    const chunks: Buffer[] = [];
    let err = '';
    tar.stdout.on('data', (d: Buffer) => chunks.push(d));
    tar.stderr.on('data', (d: Buffer) => (err += d.toString()));
    tar.once('error', (e) => reject(new Error(`tar: ${e.message}`)));
    tar.once('close', (code) => (code === 0 ? resolve(Buffer.concat(chunks)) : reject(new Error(`tar failed: ${err.trim()}`))));
    tar.stdin.end(files.join('\n') + '\n');
  });
}

export interface DeployOptions {
  root: string;
  version: string;
  onProgress?: (message: string) => void;
}

/** Deploys (or finds deployed) the backend on the host and reports what it can do there. */
export async function deployBackend(host: RemoteHost, opts: DeployOptions): Promise<DeployReport> {
  const say = opts.onProgress ?? (() => undefined);
  say(`checking Node on ${host.destination}`);
  const facts = await hostFacts(host);
  const files = await bundleFiles(opts.root, facts.platform);
  const hash = await bundleHash(opts.root, files);
  const { installDir, stateDir } = remoteDirs(host, facts, opts.version, hash);
  const node = host.node ?? 'node';

  const present = await sshExec(host, ['test', '-f', `${installDir}/.complete`]);
  let installed = false;
  let bytes = 0;
  if (present.code !== 0) {
    const archive = await tarGz(opts.root, files);
    bytes = archive.length;
    for (let attempt = 0; ; attempt++) {
      say(`installing the backend (${(bytes / 2 ** 20).toFixed(1)} MiB) in ${installDir}`);
      const r = await sshExec(host, ['sh', '-c', INSTALL, 'sh', installDir, hash], { input: archive, timeoutMs: 15 * 60_000 });
      if (r.code === 0) {
        installed = r.stdout.includes('installed');
        break;
      }
      if (r.code !== 75 || attempt >= 60) throw new Error(`installing the backend on ${host.destination} failed (exit ${r.code}): ${r.stderr.trim().split('\n').slice(-3).join(' | ')}`);
      say('another deploy of the same bundle is in progress: waiting');
      await new Promise((res) => setTimeout(res, 5000));
    }
  }

  say('checking the backend and Python on the host');
  const caps = await sshExec(host, [node, `${installDir}/out/backend.js`, '--capabilities'], { timeoutMs: 60_000 });
  if (caps.code !== 0) throw new Error(`the deployed backend does not start on ${host.destination}: ${caps.stderr.trim().split('\n').slice(-3).join(' | ')}`);
  const capabilities = JSON.parse(caps.stdout) as BackendCapabilities;
  const problems: string[] = [];
  if ('error' in capabilities.onnxruntime) problems.push(capabilities.onnxruntime.error);
  const python = host.python ?? 'python3';
  let pythonReport: PythonReport | { error: string };
  const py = await sshExec(host, [python, '-c', PYTHON_PROBE], { timeoutMs: 60_000 });
  if (py.code === 0) {
    pythonReport = { interpreter: python, ...(JSON.parse(py.stdout.trim().split('\n').pop()!) as Omit<PythonReport, 'interpreter'>) };
    problems.push(...pythonProblems(pythonReport).map((p) => `on ${host.destination}: ${p}`));
  } else {
    pythonReport = { error: `"${python}" cannot be run on ${host.destination}: ${py.stderr.trim().split('\n').pop() ?? `exit ${py.code}`}` };
    problems.push(pythonReport.error);
  }
  return { host: host.destination, installDir, stateDir, installed, bytes, facts, capabilities, python: pythonReport, problems };
}

/** The command ssh runs on the host to reach the daemon (starting it when needed). */
export function bridgeCommand(host: RemoteHost, installDir: string, stateDir: string): string[] {
  return [host.node ?? 'node', `${installDir}/out/backend.js`, '--bridge', '--state', stateDir];
}
