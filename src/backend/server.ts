// The backend process's JSON-RPC server: a version handshake, scoring jobs with progress and
// cancellation, generation and refinement (DPO) jobs of the LLM factory, and a journal of
// finished jobs.
import * as os from 'node:os';
import * as path from 'node:path';
import { CancellationToken, createMessageConnection, StreamMessageReader, StreamMessageWriter, type MessageConnection } from 'vscode-jsonrpc/node';
import { usableExecutionProviders } from '../engine/inference/providers';
import {
  GenerateProgressNotification,
  GenerateRequest,
  InitializeRequest,
  PROTOCOL_VERSION,
  ProgressNotification,
  RefineProgressNotification,
  RefineRequest,
  ScoreRequest,
  ShutdownRequest,
  type GenerateResult,
  type RefineResult,
  type ScoreResult,
} from '../protocol/backend';
import { runGenerateJob } from './generation';
import { Journal } from './journal';
import { refinedModelFolder, runRefineJob } from './refinement';
import { runScoreJob } from './scoring';

function abortOn(token: CancellationToken): AbortSignal {
  const controller = new AbortController();
  if (token.isCancellationRequested) controller.abort();
  token.onCancellationRequested(() => controller.abort());
  return controller.signal;
}

export function serve(input: NodeJS.ReadableStream, output: NodeJS.WritableStream, version: string): MessageConnection {
  const connection = createMessageConnection(new StreamMessageReader(input), new StreamMessageWriter(output));
  // Finished jobs by kind: scoring results in the journal folder, the others in subfolders.
  let journals: { score: Journal; generate: Journal; refine: Journal } | undefined;
  let artifactsDir: string | undefined;
  /** The journaled answer of a finished job (when `usable` agrees), else the job run now and journaled. */
  const journaled = async <R extends { jobId: string; fromJournal?: boolean }>(kind: 'score' | 'generate' | 'refine', jobId: string, run: () => Promise<R>, usable: (r: R) => Promise<boolean> = async () => true): Promise<R> => {
    const stored = await journals?.[kind].get<R>(jobId);
    if (stored && (await usable(stored))) return { ...stored, fromJournal: true };
    const result = await run();
    await journals?.[kind].put(result);
    return result;
  };

  connection.onRequest(InitializeRequest, (params) => {
    if (params.protocolVersion !== PROTOCOL_VERSION) {
      throw new Error(`protocol version ${params.protocolVersion} is not supported by this backend (it speaks ${PROTOCOL_VERSION}); update the extension or the backend`);
    }
    journals = params.journalDir
      ? { score: new Journal(params.journalDir), generate: new Journal(path.join(params.journalDir, 'generate')), refine: new Journal(path.join(params.journalDir, 'refine')) }
      : undefined;
    artifactsDir = params.artifactsDir;
    return {
      protocolVersion: PROTOCOL_VERSION,
      backendVersion: version,
      node: process.versions.node,
      platform: `${process.platform}-${process.arch}`,
      cpus: os.cpus().length,
      executionProviders: usableExecutionProviders(),
    };
  });

  connection.onRequest(ScoreRequest, (params, token): Promise<ScoreResult> =>
    journaled('score', params.jobId, () => runScoreJob(params, abortOn(token), (p) => void connection.sendNotification(ProgressNotification, p))),
  );

  connection.onRequest(GenerateRequest, (params, token): Promise<GenerateResult> =>
    journaled('generate', params.jobId, () => runGenerateJob(params, abortOn(token), (p) => void connection.sendNotification(GenerateProgressNotification, p), artifactsDir)),
  );

  // A journaled refinement counts only while its artifact is still there.
  const artifactExists = (r: RefineResult) =>
    refinedModelFolder(artifactsDir, r.artifact).then(
      () => true,
      () => false,
    );
  connection.onRequest(RefineRequest, (params, token): Promise<RefineResult> =>
    journaled(
      'refine',
      params.jobId,
      () => runRefineJob(params, artifactsDir, abortOn(token), (p) => void connection.sendNotification(RefineProgressNotification, p), (text) => process.stderr.write(text)),
      artifactExists,
    ),
  );

  connection.onRequest(ShutdownRequest, () => {
    setImmediate(() => process.exit(0));
  });
  // The client went away (closed our stdin): nothing left to serve.
  connection.onClose(() => process.exit(0));
  connection.listen();
  return connection;
}
