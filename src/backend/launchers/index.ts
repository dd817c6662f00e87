// The launcher a LauncherSpec names (a Ray launcher would be one more case here).
import type { LauncherSpec } from '../../protocol/backend';
import type { WorkerLauncher } from './launcher';
import { ProcessLauncher } from './processes';
import { SlurmLauncher } from './slurm';

export function makeLauncher(spec: LauncherSpec, env: NodeJS.ProcessEnv = process.env): WorkerLauncher {
  switch (spec.kind) {
    case 'slurm':
      return new SlurmLauncher({
        partition: spec.partition,
        gpusPerWorker: spec.gpusPerWorker,
        cpusPerWorker: spec.cpusPerWorker,
        memoryMB: spec.memoryMB,
        timeLimit: spec.timeLimit,
        sbatchOptions: spec.sbatchOptions,
        env,
      });
    case 'processes':
      return new ProcessLauncher({ gpusPerWorker: spec.gpusPerWorker, env });
    default:
      throw new Error(`unknown launcher ${JSON.stringify((spec as { kind: unknown }).kind)} (known: slurm, processes)`);
  }
}
