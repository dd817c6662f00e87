// A single-node Slurm cluster from Debian's packages (munge, slurmctld, slurmd), started by a test
// in a temporary folder with its own ports, key and state, and three fake GPUs (device files
// that gres.conf names; a count-only gpu gres would drain the node). Run as root. The daemons
// run in the foreground as our children, so stopping them reaps them.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { freePort } from './ports';
import * as os from 'node:os';
import * as path from 'node:path';

export const SLURM_BINARIES = ['/usr/sbin/munged', '/usr/sbin/slurmctld', '/usr/sbin/slurmd', '/usr/bin/sbatch'];

export interface SlurmCluster {
  dir: string;
  node: string;
  /** The environment for sbatch, squeue and scancel (SLURM_CONF). */
  env: NodeJS.ProcessEnv;
  stop(): Promise<void>;
}

export async function startSlurmCluster(gpus = 3): Promise<SlurmCluster> {
  for (const b of SLURM_BINARIES) if (!existsSync(b)) throw new Error(`${b} is missing: scripts/setup.sh installs Slurm and munge`);
  if (process.getuid?.() !== 0) throw new Error('the test Slurm cluster runs as root (slurmd and fake GPU device files)');
  const dir = mkdtempSync(path.join(os.tmpdir(), 'selfdev-slurm-'));
  for (const d of ['state', 'spool', 'log', 'munge', 'dev']) mkdirSync(path.join(dir, d));
  chmodSync(path.join(dir, 'munge'), 0o711);
  const key = path.join(dir, 'munge', 'munge.key');
  writeFileSync(key, randomBytes(128), { mode: 0o400 });
  const sock = path.join(dir, 'munge', 'munge.sock');
  const children: ChildProcess[] = [];
  const munged = spawn('/usr/sbin/munged', ['--foreground', '--force', `--socket=${sock}`, `--key-file=${key}`, `--pid-file=${dir}/munge/munged.pid`, `--log-file=${dir}/munge/munged.log`, `--seed-file=${dir}/munge/seed`], { stdio: 'ignore' });
  children.push(munged);

  const node = os.hostname().split('.')[0];
  for (let i = 0; i < gpus; i++) execFileSync('mknod', [path.join(dir, 'dev', `gpu${i}`), 'c', '1', '3']);
  const [ctldPort, dPort] = [await freePort(), await freePort()];
  const conf = path.join(dir, 'slurm.conf');
  writeFileSync(
    conf,
    [
      'ClusterName=selfdevtest',
      `SlurmctldHost=${node}`,
      'SlurmUser=root',
      'SlurmdUser=root',
      `SlurmctldPort=${ctldPort}`,
      `SlurmdPort=${dPort}`,
      'AuthType=auth/munge',
      'CredType=cred/munge',
      `AuthInfo=socket=${sock}`,
      `StateSaveLocation=${dir}/state`,
      `SlurmdSpoolDir=${dir}/spool`,
      `SlurmctldPidFile=${dir}/slurmctld.pid`,
      `SlurmdPidFile=${dir}/slurmd.pid`,
      `SlurmctldLogFile=${dir}/log/slurmctld.log`,
      `SlurmdLogFile=${dir}/log/slurmd.log`,
      'ProctrackType=proctrack/linuxproc',
      'TaskPlugin=task/none',
      'SchedulerType=sched/backfill',
      'SelectType=select/cons_tres',
      'SelectTypeParameters=CR_Core',
      'GresTypes=gpu',
      'MpiDefault=none',
      'ReturnToService=2',
      'JobCompType=jobcomp/none',
      'AccountingStorageType=accounting_storage/none',
      'MinJobAge=30',
      `NodeName=${node} CPUs=${os.cpus().length} RealMemory=2000 Gres=gpu:${gpus} State=UNKNOWN`,
      `PartitionName=debug Nodes=${node} Default=YES MaxTime=INFINITE State=UP`,
      '',
    ].join('\n'),
  );
  writeFileSync(path.join(dir, 'gres.conf'), `AutoDetect=off\nNodeName=${node} Name=gpu File=${dir}/dev/gpu[0-${gpus - 1}]\n`);
  const env = { ...process.env, SLURM_CONF: conf };
  const stop = async () => {
    for (const c of children.reverse()) c.kill('SIGTERM');
    // slurmd may linger over job steps it is ending: SIGKILL after a grace, so a test never hangs.
    const force = setTimeout(() => children.forEach((c) => c.kill('SIGKILL')), 10_000);
    await Promise.all(children.map((c) => (c.exitCode !== null || c.signalCode !== null ? undefined : new Promise((r) => c.once('exit', r)))));
    clearTimeout(force);
  };
  try {
    // munged's socket first, then the controller and the node daemon.
    for (let i = 0; !existsSync(sock); i++) {
      if (i > 100) throw new Error('munged did not start');
      await new Promise((r) => setTimeout(r, 50));
    }
    children.push(spawn('/usr/sbin/slurmctld', ['-D', '-f', conf], { stdio: 'ignore', env }));
    children.push(spawn('/usr/sbin/slurmd', ['-D', '-f', conf], { stdio: 'ignore', env }));
    const deadline = Date.now() + 30_000;
    for (;;) {
      let state = '';
      try {
        state = execFileSync('sinfo', ['--noheader', '--format=%T'], { env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
      } catch {
        /* the controller is not up yet */
      }
      if (state === 'idle') break;
      if (/drain|inval|down/.test(state)) {
        try {
          execFileSync('scontrol', ['update', `nodename=${node}`, 'state=resume'], { env, stdio: 'ignore' });
        } catch {
          /* not resumable yet */
        }
      }
      if (Date.now() > deadline) throw new Error(`the Slurm node is not idle (${state || 'no answer'}); see ${dir}/log`);
      await new Promise((r) => setTimeout(r, 200));
    }
  } catch (err) {
    await stop();
    throw err;
  }
  return { dir, node, env, stop };
}
