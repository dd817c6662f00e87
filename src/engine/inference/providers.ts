// Which onnxruntime execution providers this installation can really use: the ones bundled in
// the npm package, plus CUDA/TensorRT when their shared libraries were installed next to it.
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';

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

export function usableExecutionProviders(): string[] {
  return ort
    .listSupportedBackends()
    .filter((b) => b.bundled || providerLibraryPresent(b.name))
    .map((b) => b.name);
}
