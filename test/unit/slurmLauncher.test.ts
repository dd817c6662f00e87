// The Slurm launcher against a real single-node cluster (Debian's slurmctld, slurmd and munge in
// a temporary folder, three fake GPUs): one job array of W workers, each with its own GPU and
// the secret only in its environment; states from squeue; cancelling one task or all.
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parseSqueue, sbatchArgs, SlurmLauncher } from '../../src/backend/launchers/slurm';
import { startSlurmCluster, type SlurmCluster } from '../harness/slurm';
import { until } from '../harness/until';

let cluster: SlurmCluster;
const SECRET = 'worker-secret-0123456789';

before(async () => {
  cluster = await startSlurmCluster(3);
});
after(async () => {
  await cluster?.stop();
});

describe('the Slurm launcher', () => {
  it('builds one array of W workers, never a task per candidate', () => {
    const args = sbatchArgs({ gpusPerWorker: 1, partition: 'gpu', timeLimit: '04:00:00', sbatchOptions: ['--account=lab'] }, 3, { command: ['node', '/opt/b ack/backend.js', '--worker'], env: {}, name: 'selfdev-w', logDir: '/tmp/l' });
    assert.deepEqual(args, [
      '--parsable',
      '--array=0-2',
      '--job-name=selfdev-w',
      '--output=/tmp/l/worker-%A_%a.log',
      '--export=ALL',
      '--partition=gpu',
      '--gres=gpu:1',
      '--cpus-per-task=1',
      '--time=04:00:00',
      '--account=lab',
      "--wrap=exec node '/opt/b ack/backend.js' --worker",
    ]);
    assert.throws(() => sbatchArgs({ gpusPerWorker: 1 }, 0, { command: ['x'], env: {}, name: 'n', logDir: '/l' }), /whole number >= 1/);
    assert.deepEqual(parseSqueue('12_0|RUNNING|vm|None\n12_2|PENDING||Resources\n13_0|RUNNING|vm|None\n', '12'), [
      { index: 0, state: 'running', detail: 'RUNNING', node: 'vm', reason: undefined },
      { index: 2, state: 'pending', detail: 'PENDING', node: undefined, reason: 'Resources' },
    ]);
  });

  it('starts workers with a GPU each and the secret in their environment only; cancels one, then all', async () => {
    const logDir = mkdtempSync(path.join(os.tmpdir(), 'selfdev-slurm-logs-'));
    const launcher = new SlurmLauncher({ gpusPerWorker: 1, env: cluster.env });
    // Each worker writes what it got, then stays up like a real worker.
    const script = `echo "$SLURM_ARRAY_TASK_ID $CUDA_VISIBLE_DEVICES $SELFDEV_WORKER_TOKEN" > ${logDir}/seen-$SLURM_ARRAY_TASK_ID; exec sleep 120`;
    const launched = await launcher.launch(3, { command: ['sh', '-c', script], env: { SELFDEV_WORKER_TOKEN: SECRET }, name: 'selfdev-test-workers', logDir });
    assert.match(launched.id, /^\d+$/);
    // Two CPUs: two workers run and the third waits for one.
    await until('two workers to run', async () => (await launched.tasks()).filter((t) => t.state === 'running').length === 2);
    const tasks = await launched.tasks();
    assert.deepEqual(tasks.map((t) => t.index), [0, 1, 2]);
    assert.equal(tasks.filter((t) => t.state === 'pending').length, 1);
    await until('the running workers to write', async () => tasks.filter((t) => t.state === 'running').every((t) => existsSync(path.join(logDir, `seen-${t.index}`))));
    const seen = tasks.filter((t) => t.state === 'running').map((t) => readFileSync(path.join(logDir, `seen-${t.index}`), 'utf8').trim().split(' '));
    for (const [, gpu, token] of seen) {
      assert.match(gpu, /^[0-2]$/, 'each worker has one GPU');
      assert.equal(token, SECRET);
    }
    assert.notEqual(seen[0][1], seen[1][1], 'different GPUs');
    // The secret is not in what Slurm shows everyone.
    const shown = execFileSync('squeue', ['--noheader', '--array', `--jobs=${launched.id}`, '--format=%i %o %k'], { env: cluster.env, encoding: 'utf8' });
    assert.ok(!shown.includes(SECRET), shown);
    assert.ok(!execFileSync('scontrol', ['show', 'job', launched.id], { env: cluster.env, encoding: 'utf8' }).includes(SECRET));

    // A worker cancelled alone: the pending one gets its place.
    const first = tasks.find((t) => t.state === 'running')!;
    await launched.cancel(first.index);
    await until('the cancelled worker to end and the waiting one to run', async () => {
      const now = await launched.tasks();
      return now[first.index].state === 'ended' && now.filter((t) => t.state === 'running').length === 2;
    });
    // All cancelled: nothing is left queued.
    await launched.cancel();
    await until('the queue to be empty', async () => (await launched.tasks()).every((t) => t.state === 'ended'));
    assert.equal(execFileSync('squeue', ['--noheader'], { env: cluster.env, encoding: 'utf8' }).trim(), '');
  });

  it('says when Slurm is not there', async () => {
    const launcher = new SlurmLauncher({ gpusPerWorker: 1, env: { PATH: '/nonexistent' } });
    await assert.rejects(launcher.launch(1, { command: ['true'], env: {}, name: 'n', logDir: os.tmpdir() }), /sbatch is not installed \(is this a Slurm login node\?\)/);
  });
});
