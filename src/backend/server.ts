// One client's connection to a backend, over any stream: the version handshake, the daemon's job
// API (submit, attach from an offset, cancel, heartbeat, status) and the one-request-per-job form
// a stdio child is used through. Jobs belong to the JobService, not to the connection: a client
// that goes away only stops getting events.
import * as os from 'node:os';
import { createMessageConnection, StreamMessageReader, StreamMessageWriter, type MessageConnection, type NotificationType, type RequestType } from 'vscode-jsonrpc/node';
import { usableExecutionProviders } from '../engine/inference/providers';
import {
  AttachRequest,
  CancelRequest,
  GenerateProgressNotification,
  GenerateRequest,
  InitializeRequest,
  JobEventNotification,
  PingRequest,
  PROTOCOL_VERSION,
  ProgressNotification,
  RefineProgressNotification,
  RefineRequest,
  ExportModelRequest,
  ExportProgressNotification,
  ScoreRequest,
  CloseWorkersRequest,
  OpenWorkersRequest,
  ShutdownRequest,
  StatusRequest,
  WorkersNotification,
  StopRequest,
  type DaemonStatus,
  type InitializeResult,
  type JobEventParams,
  type SubmitParams,
  SubmitRequest,
} from '../protocol/backend';
import { listGpus } from './gpus';
import { JobService } from './jobService';
import { runOfJob } from './jobRegistry';

export interface ConnectionHost {
  version: string;
  /** The daemon's service; a stdio backend makes its own at initialize, from the client's folders. */
  service?: JobService;
  daemon?: { id: string; status(): DaemonStatus; stop(): void };
  /** A client silent for this long (no request, not even a ping) is treated as gone. */
  heartbeatTimeoutMs?: number;
  /** Closes the underlying stream (a silent client's). */
  hangUp?: () => void;
  log?: (text: string) => void;
  /** Told of the service a stdio backend makes at initialize. */
  onService?: (service: JobService) => void;
}

export function serveConnection(connection: MessageConnection, host: ConnectionHost): { closed: Promise<void> } {
  let service = host.service;
  const attached = new Map<string, () => void>();
  /** Runs whose worker pools this client hears about. */
  const watching = new Map<string, () => void>();
  const watchWorkers = (s: JobService, run: string) => {
    if (watching.has(run)) return;
    watching.set(run, s.workers.onStatus(run, (status) => void connection.sendNotification(WorkersNotification, status).catch(() => undefined)));
  };
  let lastSeen = Date.now();
  const seen = () => {
    lastSeen = Date.now();
  };
  const needService = (): JobService => {
    if (!service) throw new Error('the client did not initialize the connection');
    return service;
  };

  connection.onRequest(InitializeRequest, async (params): Promise<InitializeResult> => {
    seen();
    if (params.protocolVersion !== PROTOCOL_VERSION) {
      throw new Error(`protocol version ${params.protocolVersion} is not supported by this backend (version ${host.version}, protocol ${PROTOCOL_VERSION}); update the extension or redeploy the backend`);
    }
    if (!service) {
      service = await JobService.open({ journalDir: params.journalDir, artifactsDir: params.artifactsDir, log: host.log });
      host.onService?.(service);
    }
    return {
      protocolVersion: PROTOCOL_VERSION,
      backendVersion: host.version,
      node: process.versions.node,
      platform: `${process.platform}-${process.arch}`,
      cpus: os.cpus().length,
      executionProviders: usableExecutionProviders(),
      host: os.hostname(),
      gpus: await listGpus(),
      daemonId: host.daemon?.id,
    };
  });

  // One request per job (the stdio backend's form): progress as notifications of the job's kind,
  // cancellation through the request's token.
  const perRequest = <K extends SubmitParams['kind'], P extends { jobId: string }, R>(kind: K, type: RequestType<P, R, void>, progressType: NotificationType<never>) =>
    connection.onRequest(type, async (params, token): Promise<R> => {
      seen();
      const s = needService();
      const { done } = s.submit({ kind, params } as unknown as SubmitParams);
      const events = s.registry.attach(runOfJob(params.jobId), Number.MAX_SAFE_INTEGER, (e) => {
        if (e.jobId === params.jobId && e.kind === 'progress') void connection.sendNotification(progressType, e.data as never).catch(() => undefined);
      });
      const cancel = token.onCancellationRequested(() => s.registry.cancel(params.jobId));
      try {
        return (await done) as R;
      } finally {
        events.detach();
        cancel.dispose();
      }
    });
  perRequest('score', ScoreRequest, ProgressNotification as NotificationType<never>);
  perRequest('generate', GenerateRequest, GenerateProgressNotification as NotificationType<never>);
  perRequest('refine', RefineRequest, RefineProgressNotification as NotificationType<never>);
  perRequest('export', ExportModelRequest, ExportProgressNotification as NotificationType<never>);

  connection.onRequest(SubmitRequest, (params) => {
    seen();
    return needService().submit(params).info;
  });

  connection.onRequest(AttachRequest, (params) => {
    seen();
    const s = needService();
    attached.get(params.run)?.();
    const send = (e: Omit<JobEventParams, 'run'>) => {
      connection.sendNotification(JobEventNotification, { ...e, run: params.run }).catch(() => attached.get(params.run)?.());
    };
    const a = s.registry.attach(params.run, params.offset, send);
    watchWorkers(s, params.run);
    attached.set(params.run, a.detach);
    return { next: a.next, jobs: s.registry.jobsOf(params.run) };
  });

  connection.onRequest(OpenWorkersRequest, async (params) => {
    seen();
    const s = needService();
    watchWorkers(s, params.run);
    return s.workers.open(params.run, params.launcher);
  });

  connection.onRequest(CloseWorkersRequest, async (params) => {
    seen();
    return (await needService().workers.close(params.run, params.reason)) ?? null;
  });

  connection.onRequest(CancelRequest, (params) => {
    seen();
    return { cancelled: needService().registry.cancel(params.jobId) };
  });

  connection.onRequest(PingRequest, () => {
    seen();
    return { time: Date.now() };
  });

  connection.onRequest(StatusRequest, () => {
    seen();
    if (!host.daemon) throw new Error('this backend is not a daemon');
    return host.daemon.status();
  });

  connection.onRequest(StopRequest, () => {
    if (!host.daemon) throw new Error('this backend is not a daemon');
    // After the answer is on its way.
    setTimeout(() => host.daemon!.stop(), 50);
  });

  // A stdio backend ends with its client; a daemon's client only leaves.
  connection.onRequest(ShutdownRequest, async () => {
    if (host.daemon) return;
    await service?.closeWorkers('the backend stopped');
    setImmediate(() => process.exit(0));
  });

  let watchdog: NodeJS.Timeout | undefined;
  if (host.heartbeatTimeoutMs) {
    const timeout = host.heartbeatTimeoutMs;
    watchdog = setInterval(() => {
      if (Date.now() - lastSeen > timeout) {
        host.log?.(`a client was silent for ${Math.round((Date.now() - lastSeen) / 1000)} s: treated as gone\n`);
        host.hangUp?.();
        connection.dispose();
      }
    }, Math.min(1000, timeout / 4));
    watchdog.unref();
  }

  const closed = new Promise<void>((resolve) => {
    const done = () => {
      if (watchdog) clearInterval(watchdog);
      for (const detach of attached.values()) detach();
      attached.clear();
      for (const stop of watching.values()) stop();
      watching.clear();
      resolve();
    };
    connection.onClose(done);
    connection.onDispose(done);
  });
  connection.listen();
  return { closed };
}

/** The stdio backend: one client on this process's streams; the process ends with it. */
export function serve(input: NodeJS.ReadableStream, output: NodeJS.WritableStream, version: string): MessageConnection {
  const connection = createMessageConnection(new StreamMessageReader(input), new StreamMessageWriter(output));
  let service: JobService | undefined;
  const { closed } = serveConnection(connection, { version, log: (text) => process.stderr.write(text), onService: (s) => (service = s) });
  // Its workers go with it: nothing is left queued on a cluster.
  void closed.then(async () => {
    await service?.closeWorkers('the backend stopped');
    process.exit(0);
  });
  return connection;
}
