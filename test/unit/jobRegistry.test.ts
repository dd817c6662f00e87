// The jobs a backend daemon owns: idempotent submission by id, a run's events replayed in order
// from an offset and then live, cancellation by id, clients that vanish only detaching, and jobs
// left running by a stopped daemon marked interrupted when it starts again.
import * as assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { JobRegistry, runOfJob, type JobEvent } from '../../src/backend/jobRegistry';

/** A job that reports progress and finishes when told to. */
function gate() {
  let open!: () => void;
  const opened = new Promise<void>((r) => (open = r));
  return { open, opened };
}

describe('the job registry of a backend daemon', () => {
  it('runs a job once per id while it runs: submitting its id returns the same job; a finished one starts again', async () => {
    const reg = await JobRegistry.open();
    let runs = 0;
    const g = gate();
    const work = async () => {
      runs++;
      await g.opened;
      return 42;
    };
    const a = reg.submit('run1/score/x', work);
    const b = reg.submit('run1/score/x', work);
    assert.equal(runs, 1);
    assert.equal(a.done, b.done);
    g.open();
    assert.equal(await b.done, 42);
    assert.equal(reg.info('run1/score/x')!.status, 'finished');
    // Ended: its work runs again (in the daemon it answers from the journal, checking the answer
    // still holds) and ends with a new event.
    const again = reg.submit('run1/score/x', work);
    assert.equal(runs, 2);
    assert.equal(again.info.status, 'running');
    assert.equal(await again.done, 42);
  });

  it('replays a run\'s events from an offset, in order, then streams live ones', async () => {
    const reg = await JobRegistry.open();
    const g = gate();
    const job = reg.submit('r/generate/1', async (_signal, progress) => {
      progress({ done: 1 });
      progress({ done: 2 });
      await g.opened;
      progress({ done: 3 });
      return 'ok';
    });
    await new Promise((r) => setImmediate(r));
    const seen: JobEvent[] = [];
    const { next } = reg.attach('r', 1, (e) => seen.push(e));
    assert.equal(next, 2, 'two events so far');
    assert.deepEqual(seen.map((e) => [e.offset, e.kind, e.data]), [[1, 'progress', { done: 2 }]], 'from offset 1 only');
    g.open();
    await job.done;
    assert.deepEqual(seen.map((e) => [e.offset, e.kind]), [[1, 'progress'], [2, 'progress'], [3, 'result']]);
    assert.equal(seen.at(-1)!.data, 'ok');
    // Another run's log is its own.
    const other: JobEvent[] = [];
    reg.attach('s', 0, (e) => other.push(e));
    assert.deepEqual(other, []);
    // A finished job's progress is dropped from the log; offsets stay, the outcome is kept.
    const late: JobEvent[] = [];
    assert.equal(reg.attach('r', 0, (e) => late.push(e)).next, 4);
    assert.deepEqual(late.map((e) => [e.offset, e.kind]), [[3, 'result']]);
  });

  it('cancels by job id, whoever submitted it, and records the cancellation as an event', async () => {
    const reg = await JobRegistry.open();
    const job = reg.submit('r/refine/1', (signal) => new Promise((_, reject) => signal.addEventListener('abort', () => reject(new Error('stopped')))));
    const seen: JobEvent[] = [];
    reg.attach('r', 0, (e) => seen.push(e));
    assert.equal(reg.cancel('r/refine/1'), true);
    await assert.rejects(job.done, /stopped/);
    assert.equal(reg.info('r/refine/1')!.status, 'cancelled');
    assert.deepEqual(seen.map((e) => [e.kind, e.data]), [['error', { message: 'stopped', cancelled: true, name: 'Error' }]]);
    assert.equal(reg.cancel('r/refine/1'), false, 'nothing left to cancel');
    assert.equal(reg.cancel('r/none'), false);
  });

  it('detaches a client that fails while being sent to; the job goes on and others still hear it', async () => {
    const reg = await JobRegistry.open();
    const g = gate();
    const job = reg.submit('r/score/a', async (_s, progress) => {
      await g.opened;
      progress('p');
      return 1;
    });
    let gone = 0;
    reg.attach('r', 0, () => {
      gone++;
      throw new Error('socket closed');
    });
    const heard: string[] = [];
    const second = reg.attach('r', 0, (e) => heard.push(e.kind));
    g.open();
    assert.equal(await job.done, 1);
    assert.equal(gone, 1, 'the failing client got one event, then was detached');
    assert.deepEqual(heard, ['progress', 'result']);
    second.detach();
    assert.equal(reg.busy, false);
  });

  it('keeps its job list on disk: after a restart, jobs that were running are interrupted and can be submitted again', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'selfdev-jobs-'));
    const first = await JobRegistry.open(dir);
    first.submit('run9/score/a', () => new Promise(() => undefined)); // never ends: the daemon "dies"
    await first.submit('run9/score/b', async () => 'b').done;
    await first.flushed();
    assert.deepEqual(JSON.parse(readFileSync(path.join(dir, 'jobs.json'), 'utf8')), [
      { jobId: 'run9/score/a', run: 'run9', status: 'running' },
      { jobId: 'run9/score/b', run: 'run9', status: 'finished' },
    ]);
    const second = await JobRegistry.open(dir);
    assert.deepEqual(second.interrupted, [{ jobId: 'run9/score/a', run: 'run9', status: 'interrupted' }]);
    assert.deepEqual(second.jobsOf('run9'), [{ jobId: 'run9/score/a', run: 'run9', status: 'interrupted' }]);
    let ran = false;
    assert.equal(await second.submit('run9/score/a', async () => ((ran = true), 'again')).done, 'again');
    assert.ok(ran, 'an interrupted job runs again when submitted');
    await second.flushed();
  });

  it('reads the run from a job id', () => {
    assert.equal(runOfJob('demo-20261201-213854/refine/1/abc'), 'demo-20261201-213854');
    assert.equal(runOfJob('writer-samples'), 'writer-samples');
  });
});
