// Loop benchmark (npm run bench): demo candidates per hour of the loop's scoring in three set-ups
// on the same config and algorithms, interleaved in one run, each on a fresh run with its own
// backend and journal:
//   cold:   one runner supervisor and one sandbox per job (before issue 18: SELFDEV_WARM_RUNNER=0);
//   warm:   warm supervisors, still one fresh sandbox per algorithm (SELFDEV_RUNNER_ZYGOTE=0);
//   zygote: warm supervisors whose sandbox's zygote forks a worker per algorithm (the default).
// Also the fixed cost of a backend's start and stop, which every `selfdev iterate` pays once.
// Exits non-zero on errors only, never on slowness.
import { mkdtempSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { startLocalBackend } from '../../src/backend/client';
import { readRunConfig } from '../../src/core/config/runConfig';
import { RunLoop, runHeader } from '../../src/core/loop/runLoop';
import { RunStore } from '../../src/core/store/runStore';
import { repoRoot } from '../harness/paths';
import { writeDemoConfig } from '../harness/smallConfig';
import { PYTHON } from '../unit/support/python';

const ALGORITHMS = Number(process.env.BENCH_LOOP_ALGORITHMS ?? 16);
const ROUNDS = Number(process.env.BENCH_LOOP_ROUNDS ?? 2);

type Mode = 'cold' | 'warm' | 'zygote';
const MODE_ENV: Record<Mode, Record<string, string>> = {
  cold: { SELFDEV_WARM_RUNNER: '0', SELFDEV_RUNNER_ZYGOTE: '0' },
  warm: { SELFDEV_WARM_RUNNER: '1', SELFDEV_RUNNER_ZYGOTE: '0' },
  zygote: { SELFDEV_WARM_RUNNER: '1', SELFDEV_RUNNER_ZYGOTE: '1' },
};

async function iteration(mode: Mode, round: number): Promise<{ seconds: number; scored: number; startStop: number }> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'selfdev-bench-loop-'));
  const configFile = writeDemoConfig(path.join(dir, 'b.selfdev.json'), path.join(repoRoot, 'resources', 'demo'), { factory: { kind: 'grammar' }, algorithmsPerIteration: ALGORITHMS, iterations: 1 });
  const config = await readRunConfig(configFile);
  const store = await RunStore.open(path.join(dir, 'runs'));
  const id = `b${mode}${round}`;
  const run = await store.create(id, { 'run.json': JSON.stringify(runHeader(id, config, configFile, 'bench'), null, 1) + '\n' }, 'create');
  const t0 = performance.now();
  const backend = await startLocalBackend({
    script: path.join(repoRoot, 'out', 'backend.js'),
    clientVersion: 'bench',
    journalDir: path.join(dir, 'journal'),
    env: { ...process.env, ...MODE_ENV[mode] },
  });
  const started = performance.now();
  let scored = 0;
  let scoring = 0;
  let first = 0;
  let stopped = 0;
  try {
    const loop = await RunLoop.open(run, {
      backend,
      python: PYTHON,
      algorithmsDir: path.join(repoRoot, 'resources', 'algorithms'),
      threads: 1,
      onEvent: (e) => {
        if (e.type === 'phase' && e.phase === 'score') first = performance.now();
        if (e.type === 'scored' && !e.record.reusedFrom) {
          scored++;
          scoring = performance.now() - first;
        }
      },
    });
    await loop.iterate(1);
  } finally {
    const d0 = performance.now();
    await backend.dispose();
    stopped = performance.now() - d0;
  }
  return { seconds: scoring / 1000, scored, startStop: (started - t0 + stopped) / 1000 };
}

async function main(): Promise<void> {
  const modes: Mode[] = ['cold', 'warm', 'zygote'];
  const rows: Record<Mode, { seconds: number; scored: number; startStop: number }[]> = { cold: [], warm: [], zygote: [] };
  for (let r = 0; r < ROUNDS; r++) for (const m of modes) rows[m].push(await iteration(m, r));
  const rate = (xs: { seconds: number; scored: number }[]) => (xs.reduce((a, x) => a + x.scored, 0) / xs.reduce((a, x) => a + x.seconds, 0)) * 3600;
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const [cold, warm, zygote] = modes.map((m) => rate(rows[m]));
  const line = (label: string, x: number) => console.log(`${label.padEnd(44)} ${String(Math.round(x)).padStart(6)} candidates/hour (${(3600 / x).toFixed(3)} s each), ${(x / cold).toFixed(2)}x`);
  console.log(`${ALGORITHMS} algorithms per iteration, ${ROUNDS} interleaved rounds each, one job at a time, ${os.cpus().length} CPU(s)`);
  line('one supervisor and one sandbox per job:', cold);
  line('warm supervisors, one sandbox per job:', warm);
  line('warm supervisors, workers forked by a zygote:', zygote);
  console.log(`ratio zygote/cold: ${(zygote / cold).toFixed(2)}x, zygote/warm: ${(zygote / warm).toFixed(2)}x`);
  console.log(`backend start + stop per command: ${mean(rows.zygote.map((x) => x.startStop)).toFixed(2)} s (it waited out a 2 s timeout at every stop before)`);
}

main().catch((err: Error) => {
  console.error(err.stack ?? err.message);
  process.exitCode = 1;
});
