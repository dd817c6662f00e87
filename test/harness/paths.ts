import { existsSync } from 'node:fs';
import * as path from 'node:path';

/** The repository root (compiled files live in out/test/..., sources in test/...). */
export const repoRoot = path.resolve(__dirname, '..', '..', existsSync(path.resolve(__dirname, '..', '..', 'package.json')) ? '' : '..');

export const testOutput = path.join(repoRoot, 'test-output');

export function packageJson(): { name: string; version: string; publisher: string; contributes: Record<string, unknown> } {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require(path.join(repoRoot, 'package.json'));
}

export const extensionId = (): string => `${packageJson().publisher}.${packageJson().name}`;
