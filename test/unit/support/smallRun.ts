// A small real run on the demo models for tests that need the loop: a run store in a temporary
// folder (its own bare repository), the real backend process and the real Python runner.
import { writeFileSync } from 'node:fs';
import { mkdtempSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { startLocalBackend, type Backend } from '../../../src/backend/client';
import { readRunConfig } from '../../../src/core/config/runConfig';
import { RunLoop, runHeader, type LoopDeps } from '../../../src/core/loop/runLoop';
import { RunStore, type Run } from '../../../src/core/store/runStore';
import { repoRoot } from '../../harness/paths';
import { PYTHON } from './python';

const demo = path.join(repoRoot, 'resources', 'demo');

export function writeSmallConfig(dir: string, extra: Record<string, unknown> = {}): string {
  const file = path.join(dir, 'small.selfdev.json');
  writeFileSync(
    file,
    JSON.stringify({
      name: 'small',
      seed: path.join(demo, 'models', 'seed'),
      candidates: ['cand-sub', 'cand-mul', 'cand-div'].map((c) => path.join(demo, 'models', c)),
      transfer: { other: ['transfer-muldiv', 'transfer-sub'].map((c) => path.join(demo, 'models', c)) },
      benchmarks: { gsm: { dev: path.join(demo, 'data', 'gsm_dev.jsonl'), answer: 'gsm8k', devSize: 12 } },
      eval: { maxNewTokens: 40, stop: ['</s>', '\n\n'] },
      algorithmsPerIteration: 6,
      iterations: 2,
      baselines: false,
      randomControl: false,
      ...extra,
    }),
  );
  return file;
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
  const backend = await startLocalBackend({ script: path.join(repoRoot, 'out', 'backend.js'), clientVersion: 'test', journalDir: path.join(dir, 'journal') });
  return {
    dir,
    run,
    backend,
    open: (deps = {}) => RunLoop.open(run, { backend, python: PYTHON, algorithmsDir: path.join(repoRoot, 'resources', 'algorithms'), threads: 1, ...deps }),
    dispose: () => backend.dispose(),
  };
}
