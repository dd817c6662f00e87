import * as os from 'node:os';

/** What a backend machine can do; reported by `selfdev doctor` and at the protocol handshake. */
export interface BackendCapabilities {
  backendVersion: string;
  node: string;
  platform: string;
  arch: string;
  cpus: number;
  memoryGiB: number;
  onnxruntime: { version: string; executionProviders: string[] } | { error: string };
}

/** Loads onnxruntime-node (its native binary) and lists the execution providers it can use. */
export function readCapabilities(backendVersion: string): BackendCapabilities {
  return {
    backendVersion,
    node: process.versions.node,
    platform: process.platform,
    arch: process.arch,
    cpus: os.cpus().length,
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    onnxruntime: loadOnnxRuntime(),
  };
}

function loadOnnxRuntime(): BackendCapabilities['onnxruntime'] {
  try {
    // Required lazily: a missing or broken native binary must become a report, not a crash.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const ort = require('onnxruntime-node') as typeof import('onnxruntime-node');
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { usableExecutionProviders } = require('../engine/inference/providers') as typeof import('../engine/inference/providers');
    return { version: ort.env.versions.node ?? 'unknown', executionProviders: usableExecutionProviders() };
  } catch (err) {
    return { error: `onnxruntime-node could not be loaded: ${(err as Error).message}` };
  }
}

