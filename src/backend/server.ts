// The backend process's JSON-RPC server: a version handshake, scoring jobs with progress and
// cancellation, generation jobs of the LLM factory, and a journal of finished jobs.
import * as os from 'node:os';
import { CancellationToken, createMessageConnection, StreamMessageReader, StreamMessageWriter, type MessageConnection } from 'vscode-jsonrpc/node';
import { usableExecutionProviders } from '../engine/inference/providers';
import {
  GenerateProgressNotification,
  GenerateRequest,
  InitializeRequest,
  PROTOCOL_VERSION,
  ProgressNotification,
  ScoreRequest,
  ShutdownRequest,
  type GenerateResult,
  type ScoreResult,
} from '../protocol/backend';
import { runGenerateJob } from './generation';
import { Journal } from './journal';
import { runScoreJob } from './scoring';

function abortOn(token: CancellationToken): AbortSignal {
  const controller = new AbortController();
  if (token.isCancellationRequested) controller.abort();
  token.onCancellationRequested(() => controller.abort());
  return controller.signal;
}

export function serve(input: NodeJS.ReadableStream, output: NodeJS.WritableStream, version: string): MessageConnection {
  const connection = createMessageConnection(new StreamMessageReader(input), new StreamMessageWriter(output));
  let journal: Journal | undefined;

  connection.onRequest(InitializeRequest, (params) => {
    if (params.protocolVersion !== PROTOCOL_VERSION) {
      throw new Error(`protocol version ${params.protocolVersion} is not supported by this backend (it speaks ${PROTOCOL_VERSION}); update the extension or the backend`);
    }
    journal = params.journalDir ? new Journal(params.journalDir) : undefined;
    return {
      protocolVersion: PROTOCOL_VERSION,
      backendVersion: version,
      node: process.versions.node,
      platform: `${process.platform}-${process.arch}`,
      cpus: os.cpus().length,
      executionProviders: usableExecutionProviders(),
    };
  });

  connection.onRequest(ScoreRequest, async (params, token): Promise<ScoreResult> => {
    const stored = await journal?.get<ScoreResult>(params.jobId);
    if (stored && 'status' in stored) return { ...stored, fromJournal: true };
    const result = await runScoreJob(params, abortOn(token), (p) => void connection.sendNotification(ProgressNotification, p));
    await journal?.put(result);
    return result;
  });

  connection.onRequest(GenerateRequest, async (params, token): Promise<GenerateResult> => {
    const stored = await journal?.get<GenerateResult>(params.jobId);
    if (stored && 'completions' in stored) return { ...stored, fromJournal: true };
    const result = await runGenerateJob(params, abortOn(token), (p) => void connection.sendNotification(GenerateProgressNotification, p));
    await journal?.put(result);
    return result;
  });

  connection.onRequest(ShutdownRequest, () => {
    setImmediate(() => process.exit(0));
  });
  // The client went away (closed our stdin): nothing left to serve.
  connection.onClose(() => process.exit(0));
  connection.listen();
  return connection;
}
