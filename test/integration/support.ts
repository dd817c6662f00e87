// Shared by the integration suites: the extension under test, and small real runs.
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { SelfDevApi } from '../../src/extension';
import { extensionId } from '../harness/paths';
import { writeDemoConfig } from '../harness/smallConfig';

export function extensionRoot(): string {
  return vscode.extensions.getExtension(extensionId())!.extensionPath;
}

export async function activate(): Promise<SelfDevApi> {
  const ext = vscode.extensions.getExtension<SelfDevApi>(extensionId());
  assert.ok(ext, `extension ${extensionId()} is not installed in this VS Code`);
  return ext.activate();
}

/** A run config on the demo models small enough for an iteration in seconds. */
export function writeSmallConfig(file: string, extra: Record<string, unknown> = {}): string {
  const demo = path.join(extensionRoot(), 'resources', 'demo');
  // A sealed test split of 10 items, so finalizing takes seconds.
  const test = file.replace(/\.selfdev\.json$/, '') + '-gsm-test.jsonl';
  writeFileSync(test, readFileSync(path.join(demo, 'data', 'gsm_test.jsonl'), 'utf8').split('\n').slice(0, 10).join('\n') + '\n');
  return writeDemoConfig(file, demo, {
    name: 'it',
    benchmarks: { gsm: { dev: path.join(demo, 'data', 'gsm_dev.jsonl'), test, answer: 'gsm8k', devSize: 8 } },
    finalists: 2,
    algorithmsPerIteration: 4,
    iterations: 1,
    pairs: { chosenTop: 0.5, rejectedBottom: 0.5 },
    ...extra,
  });
}

export const git = (cwd: string, ...args: string[]) => execFileSync('git', args, { cwd, encoding: 'utf8' }).trim();

export async function until<T>(what: string, fn: () => T | undefined | Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
