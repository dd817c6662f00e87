import { existsSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

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
    const providers = ort
      .listSupportedBackends()
      .filter((b) => b.bundled || providerLibraryPresent(b.name))
      .map((b) => b.name);
    return { version: ort.env.versions.node ?? 'unknown', executionProviders: providers };
  } catch (err) {
    return { error: `onnxruntime-node could not be loaded: ${(err as Error).message}` };
  }
}

/** Non-bundled providers (CUDA, TensorRT) work only when their shared library was installed. */
function providerLibraryPresent(name: string): boolean {
  try {
    const pkg = path.dirname(require.resolve('onnxruntime-node/package.json'));
    const dir = path.join(pkg, 'bin', 'napi-v6', process.platform, process.arch);
    const ext = process.platform === 'win32' ? 'dll' : 'so';
    return existsSync(path.join(dir, `libonnxruntime_providers_${name}.${ext}`));
  } catch {
    return false;
  }
}
