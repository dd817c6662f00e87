// Writes the demo writer's training corpus: prompts rendered exactly as the loop renders them
// (src/core/factory/prompt.ts) from the demo's template, each followed by one program of the
// grammar factory in compact form (src/core/factory/compact.ts), fenced, as the completion.
// Needs the compiled sources: run `npx tsc -p test` first (build_writer.py does).
//   node resources/demo/train/writer_corpus.mjs OUT.jsonl [N] [SEED]
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..', '..', '..');
const require = createRequire(import.meta.url);
const factory = require(path.join(root, 'out', 'src', 'core', 'factory', 'index.js'));
const prompt = require(path.join(root, 'out', 'src', 'core', 'factory', 'prompt.js'));
const { seededRandom } = require(path.join(root, 'out', 'src', 'stats', 'index.js'));

const [out, nArg = '6000', seedArg = '3'] = process.argv.slice(2);
const n = Number(nArg);
const seed = Number(seedArg);
const template = readFileSync(path.join(root, 'resources', 'demo', 'prompts', 'writer.md'), 'utf8');
const workedExample = readFileSync(path.join(root, 'resources', 'demo', 'prompts', 'worked_example.py'), 'utf8');

// Programs at several temperatures, so rare operators and constants are in the corpus too.
const temps = [0.7, 1.0, 1.3, 1.6];
const programs = temps.flatMap((t, i) => factory.sampleAlgorithms(factory.initialFactory(), Math.ceil(n / temps.length), t, seed * 100 + i));
const random = seededRandom(seed);
const rows = [];
for (let i = 0; i < n; i++) {
  const code = factory.renderCompact(factory.programFromTrace(programs[i].trace));
  // A third of the prompts show one or two earlier algorithms, as a run with examples does.
  const examples = [];
  if (random() < 1 / 3) {
    const k = random() < 0.5 ? 1 : 2;
    for (let j = 0; j < k; j++) {
      const other = programs[Math.floor(random() * programs.length)];
      examples.push({ ref: `${1 + Math.floor(random() * 3)}/a${String(1 + Math.floor(random() * 200)).padStart(4, '0')}`, score: 0.3 + 0.3 * random(), code: factory.renderCompact(factory.programFromTrace(other.trace)) });
    }
  }
  rows.push({ prompt: prompt.renderPrompt(template, { workedExample, examples }), completion: prompt.fence(code), canonical: programs[i].canonical });
}
writeFileSync(out, rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
console.log(`wrote ${rows.length} examples to ${out}`);
