// Run configs on the demo models small enough for an iteration in seconds, for every test tier.
import { writeFileSync } from 'node:fs';
import * as path from 'node:path';

export type ConfigFields = Record<string, unknown>;

/**
 * Writes a config to `file`: the demo seed and its three candidates, a transfer set "other",
 * the first items of the GSM dev split, no baselines and no control; `extra` overrides fields.
 */
export function writeDemoConfig(file: string, demoDir: string, extra: ConfigFields = {}): string {
  const model = (c: string) => path.join(demoDir, 'models', c);
  writeFileSync(
    file,
    JSON.stringify(
      {
        name: 'small',
        seed: model('seed'),
        candidates: ['cand-sub', 'cand-mul', 'cand-div'].map(model),
        transfer: { other: ['transfer-muldiv', 'transfer-sub'].map(model) },
        benchmarks: { gsm: { dev: path.join(demoDir, 'data', 'gsm_dev.jsonl'), answer: 'gsm8k', devSize: 12 } },
        eval: { maxNewTokens: 40, stop: ['</s>', '\n\n'] },
        algorithmsPerIteration: 6,
        iterations: 2,
        baselines: false,
        randomControl: false,
        ...extra,
      },
      null,
      1,
    ),
  );
  return file;
}
