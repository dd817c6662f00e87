// A small real run on the demo models for tests that need the loop: a run store in a temporary
// folder (its own bare repository), the real backend process and the real Python runner.
import { mkdtempSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { startLocalBackend, type Backend } from '../../../src/backend/client';
import { readRunConfig } from '../../../src/core/config/runConfig';
import { RunLoop, runHeader, type LoopDeps } from '../../../src/core/loop/runLoop';
import { RunStore, type Run } from '../../../src/core/store/runStore';
import { repoRoot } from '../../harness/paths';
import { writeDemoConfig } from '../../harness/smallConfig';
import { PYTHON } from './python';

const demo = path.join(repoRoot, 'resources', 'demo');

export function writeSmallConfig(dir: string, extra: Record<string, unknown> = {}): string {
  return writeDemoConfig(path.join(dir, 'small.selfdev.json'), demo, extra);
}

export interface SmallRun {
  dir: string;
  run: Run;
  backend: Backend;
  open(deps?: Partial<LoopDeps>): Promise<RunLoop>;
  dispose(): Promise<void>;
}

export async function smallRun(extra: Record<string, unknown> = {}): Promise<SmallRun> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'selfdev-small-run-'));
  const configFile = writeSmallConfig(dir, extra);
  const config = await readRunConfig(configFile);
  const store = await RunStore.open(path.join(dir, 'runs'));
  const run = await store.create('s', { 'run.json': JSON.stringify(runHeader('s', config, configFile, '0.0.0-test'), null, 1) + '\n' }, 'create run s');
  const backend = await startLocalBackend({ script: path.join(repoRoot, 'out', 'backend.js'), clientVersion: 'test', journalDir: path.join(dir, 'journal'), artifactsDir: path.join(dir, 'artifacts') });
  return {
    dir,
    run,
    backend,
    open: (deps = {}) => RunLoop.open(run, { backend, python: PYTHON, algorithmsDir: path.join(repoRoot, 'resources', 'algorithms'), threads: 1, ...deps }),
    dispose: () => backend.dispose(),
  };
}
