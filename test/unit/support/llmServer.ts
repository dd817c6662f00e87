// A real OpenAI-compatible server on loopback for the tests: `transformers serve` (transformers
// 4.57.6 in .venv-llm, made by scripts/setup.sh) serving a demo model folder on the CPU.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import * as path from 'node:path';
import { repoRoot } from '../../harness/paths';

export const LLM_VENV = process.env.SELFDEV_LLM_VENV ?? path.join(repoRoot, '.venv-llm');

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

export interface LlmServer {
  baseUrl: string;
  log(): string;
  stop(): void;
}

/** Starts `transformers serve` for `model` and waits until it answers /v1/models. With `byPath`,
 * the server is not pinned to `model`: it loads whatever folder a request names (how refined
 * weights reach it, docs/LLM_FACTORY.md). */
export async function startTransformersServe(model: string, timeoutMs = 120_000, opts: { byPath?: boolean } = {}): Promise<LlmServer> {
  const exe = path.join(LLM_VENV, 'bin', 'transformers');
  if (!existsSync(exe)) throw new Error(`${exe} is missing: run scripts/setup.sh (it makes .venv-llm from resources/python/requirements-llm.txt)`);
  const port = await freePort();
  let log = '';
  const child: ChildProcess = spawn(exe, ['serve', ...(opts.byPath ? [] : ['--force_model', model]), '--device', 'cpu', '--host', '127.0.0.1', '--port', String(port)], {
    env: { ...process.env, HF_HUB_OFFLINE: '1', TRANSFORMERS_OFFLINE: '1', OMP_NUM_THREADS: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.on('data', (d) => (log = (log + d).slice(-200000)));
  child.stderr!.on('data', (d) => (log = (log + d).slice(-200000)));
  const baseUrl = `http://127.0.0.1:${port}/v1`;
  // A hung server ignores SIGTERM (FACTS.md): always SIGKILL.
  const stop = () => void (child.exitCode === null && child.kill('SIGKILL'));
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`transformers serve exited with ${child.exitCode}: ${log.slice(-2000)}`);
    try {
      const res = await fetch(`${baseUrl}/models`, { signal: AbortSignal.timeout(2000) });
      if (res.ok) break;
    } catch {
      /* not up yet */
    }
    if (Date.now() > deadline) {
      stop();
      throw new Error(`transformers serve did not answer within ${timeoutMs / 1000} s: ${log.slice(-2000)}`);
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  // The server loads the model at its first request, and two first requests at once make it fail
  // ("Cannot copy out of meta tensor"): one request first, alone.
  const warm = await fetch(`${baseUrl}/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: opts.byPath ? model : 'warm-up', messages: [{ role: 'user', content: 'hi' }], max_tokens: 1, stream: false }),
    signal: AbortSignal.timeout(timeoutMs),
  }).catch((err: Error) => err);
  if (warm instanceof Error || !warm.ok) {
    stop();
    throw new Error(`transformers serve failed its first request (${warm instanceof Error ? warm.message : `HTTP ${warm.status}`}): ${log.slice(-2000)}`);
  }
  await warm.text();
  return { baseUrl, log: () => log, stop };
}
