// npm run bench: builds, then runs every benchmark; each prints ratios measured side by side.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import * as path from 'node:path';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const python = process.env.SELFDEV_PYTHON ?? 'python3';
const run = (cmd, args) => spawnSync(cmd, args, { cwd: root, stdio: 'inherit' }).status ?? 1;

let failed = run(process.execPath, ['esbuild.mjs']) || run('npx', ['tsc', '-p', 'test']);
const benches = [
  ['engine', process.execPath, [path.join('out', 'test', 'bench', 'engine.js')]],
  ['decode', process.execPath, [path.join('out', 'test', 'bench', 'decode.js')]],
  ['loop (warm runners and zygotes)', process.execPath, [path.join('out', 'test', 'bench', 'loop.js')]],
  ['runner', python, [path.join('resources', 'python', 'bench_runner.py')]],
  ['panel', process.execPath, [path.join('out', 'test', 'bench', 'panel.js')]],
  ['remote backend', process.execPath, [path.join('out', 'test', 'bench', 'backend.js')]],
  ['scale-out (Slurm)', process.execPath, [path.join('out', 'test', 'bench', 'scaleOut.js')]],
];
for (const [name, cmd, args] of benches) {
  if (failed) break;
  if (!existsSync(path.join(root, args[0]))) continue;
  console.log(`\n=== ${name} benchmark`);
  failed = run(cmd, args);
}
process.exitCode = failed ? 1 : 0;
