// A backend worker (`backend.js --worker`), started by a launcher on a cluster node: it connects
// back to the backend over TLS with the token from its environment, then claims score jobs one at
// a time and runs them as the local backend does, until the pool closes. A dropped link does not
// stop the job in hand: the worker reconnects, says what it holds, and delivers the result then.
import * as os from 'node:os';
import { createMessageConnection, type MessageConnection } from 'vscode-jsonrpc/node';
import type { ScoreResult } from '../../protocol/backend';
import { ClaimRequest, HelloRequest, ResultRequest, WORKER_ENV, WORKER_PROTOCOL_VERSION, WorkerCancelNotification, WorkerPingRequest, WorkerProgressNotification, type WorkerResultParams } from '../../protocol/worker';
import { listGpus } from '../gpus';
import { connectWebSocket } from '../links/wsLink';
import { runScoreJob } from '../scoring';

interface Held {
  lease: string;
  jobId: string;
  controller: AbortController;
  outcome: Promise<Omit<WorkerResultParams, 'lease'>>;
}

class LinkLost extends Error {}

export async function runWorker(env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const url = env[WORKER_ENV.url];
  const token = env[WORKER_ENV.token];
  const pem = env[WORKER_ENV.certificate];
  const pool = env[WORKER_ENV.pool];
  if (!url || !token || !pool) {
    process.stderr.write('selfdev worker: started without its connection settings (a launcher sets them); nothing to do\n');
    return 2;
  }
  const index = Number(env.SLURM_ARRAY_TASK_ID ?? env[WORKER_ENV.index] ?? 0);
  const task = env.SLURM_ARRAY_JOB_ID && env.SLURM_ARRAY_TASK_ID ? `${env.SLURM_ARRAY_JOB_ID}_${env.SLURM_ARRAY_TASK_ID}` : undefined;
  // The secrets stay in this process only (the runner gets an explicit environment anyway).
  for (const k of Object.values(WORKER_ENV)) delete process.env[k];
  const log = (text: string) => process.stderr.write(`${new Date().toISOString()} worker ${task ?? index} (pid ${process.pid}): ${text}\n`);
  const gpus = await listGpus();
  let held: Held | undefined;
  let leaseSeconds = 60;
  let backoff = 500;
  let lostSince: number | undefined;

  for (;;) {
    let conn: MessageConnection | undefined;
    let heartbeat: NodeJS.Timeout | undefined;
    try {
      const link = await connectWebSocket({ url, token, pinnedCertificate: pem });
      conn = createMessageConnection(link.reader, link.writer);
      const c = conn;
      const closed = new Promise<never>((_, reject) => {
        void link.closed.then((why) => reject(new LinkLost(why)));
        c.onClose(() => reject(new LinkLost('the connection closed')));
      });
      closed.catch(() => undefined);
      c.onNotification(WorkerCancelNotification, ({ lease }) => {
        if (held?.lease === lease) {
          log(`job ${held.jobId}: dropped (cancelled, or done by another worker)`);
          held.controller.abort();
        }
      });
      c.listen();
      const hello = await Promise.race([
        c.sendRequest(HelloRequest, { protocolVersion: WORKER_PROTOCOL_VERSION, pool, index, host: os.hostname(), pid: process.pid, task, gpus, holding: held ? [{ jobId: held.jobId, lease: held.lease }] : [] }),
        closed,
      ]).catch((err: Error) => {
        if (err instanceof LinkLost) throw err;
        // The backend answered but has no pool for us (it closed): nothing left to do.
        throw Object.assign(new Error(err.message), { final: true });
      });
      leaseSeconds = hello.leaseSeconds;
      backoff = 500;
      lostSince = undefined;
      if (held && hello.dropped.includes(held.jobId)) {
        held.controller.abort();
        held = undefined;
      }
      let beating = false;
      heartbeat = setInterval(() => {
        if (beating) return;
        beating = true;
        const timeout = setTimeout(() => link.close(), Math.max(2000, leaseSeconds * 500));
        c.sendRequest(WorkerPingRequest).then(
          () => ((beating = false), clearTimeout(timeout)),
          () => link.close(),
        );
      }, hello.heartbeatSeconds * 1000);
      log(`connected to ${url}`);

      for (;;) {
        if (held) {
          const h = held;
          const outcome = await Promise.race([h.outcome, closed]);
          if (!h.controller.signal.aborted) {
            const { recorded } = await Promise.race([c.sendRequest(ResultRequest, { lease: h.lease, ...outcome }), closed]);
            log(`job ${h.jobId}: result ${recorded ? 'recorded' : 'not needed (already recorded)'}`);
          }
          held = undefined;
          continue;
        }
        const claim = await Promise.race([c.sendRequest(ClaimRequest), closed]);
        if ('done' in claim) {
          log('the pool closed: leaving');
          clearInterval(heartbeat);
          c.dispose();
          link.close();
          return 0;
        }
        const { lease, params } = claim.job;
        const controller = new AbortController();
        log(`job ${params.jobId} computing`);
        const outcome = runScoreJob(params, controller.signal, (progress) => {
          void c.sendNotification(WorkerProgressNotification, { lease, progress }).catch(() => undefined);
        }).then(
          (result: ScoreResult) => ({ result }),
          (err: Error) => ({ error: { message: err.message, name: err.name } }),
        );
        held = { lease, jobId: params.jobId, controller, outcome };
      }
    } catch (err) {
      clearInterval(heartbeat);
      conn?.dispose();
      if ((err as { final?: boolean }).final) {
        log(`leaving: ${(err as Error).message}`);
        held?.controller.abort();
        return 0;
      }
      if ((err as { fatal?: boolean }).fatal) {
        log(`cannot connect: ${(err as Error).message}`);
        held?.controller.abort();
        return 1;
      }
      lostSince ??= Date.now();
      // Longer than a lease, the job in hand is someone else's by now; keep trying a while longer
      // for a job that finishes, then give up (the scheduler's task ends).
      const giveUpMs = Math.max(60_000, leaseSeconds * 4000);
      if (Date.now() - lostSince > giveUpMs) {
        log(`no backend for ${Math.round(giveUpMs / 1000)} s (${(err as Error).message}): leaving`);
        held?.controller.abort();
        return 1;
      }
      log(`link lost (${(err as Error).message}); again in ${backoff / 1000} s`);
      await new Promise((r) => setTimeout(r, backoff));
      backoff = Math.min(15_000, backoff * 2);
    }
  }
}
