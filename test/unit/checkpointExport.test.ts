// An exported merged model is a complete Hugging Face checkpoint: transformers loads it (a real
// transformers, from the test's Python) and its logits match the engine's within 1e-4; the
// engine reads it with exactly the logits of the seed plus the runner's overlay; bf16 and f16
// seeds keep their dtype and bytes, shards come with an index; and a refused or interrupted
// export leaves nothing behind.
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { before, describe, it } from 'node:test';
import { deltaStatsDiffer } from '../../src/backend/exportModel';
import { writeCheckpoint } from '../../src/engine/model/checkpointWriter';
import { DecoderState } from '../../src/engine/inference/decoderState';
import { createDecoderSession, type DecoderSession } from '../../src/engine/inference/session';
import { openHfModel } from '../../src/engine/model/hfModel';
import { readSafetensorsHeader, readTensorBytes, writeSafetensors, type TensorInfo } from '../../src/engine/model/safetensors';
import { startTransformersServe } from './support/llmServer';
import { repoRoot } from '../harness/paths';
import { demoModel, runFixtureScript } from './support/python';
import type { LogitsCase, LogitsReference } from './support/python';

type Case = LogitsCase;
type Reference = LogitsReference;

let refs: Record<string, Reference>;
const tmp = () => mkdtempSync(path.join(os.tmpdir(), 'selfdev-export-test-'));

/** Every position's logits of each case, from one engine session. */
async function engineLogits(session: DecoderSession, cases: Case[]): Promise<Float32Array[]> {
  const out: Float32Array[] = [];
  for (const c of cases) {
    const r = await DecoderState.prefill(session, [c.ids], 0, true);
    r.state.dispose();
    out.push(Float32Array.from(r.out.logits!));
  }
  return out;
}

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  return worst;
}

async function withSession<T>(folder: string, overlay: Map<string, TensorInfo> | undefined, fn: (s: DecoderSession) => Promise<T>): Promise<T> {
  const s = await createDecoderSession(await openHfModel(folder), { maxContext: 64, allLogits: true }, overlay);
  try {
    return await fn(s);
  } finally {
    await s.release();
  }
}

/** transformers' logits for the given folders (folder_logits.py), by name. */
function transformersLogits(folders: Record<string, string>): Record<string, Reference> {
  const out = runFixtureScript(path.join('engine', 'folder_logits.py'), ...Object.entries(folders).map(([k, v]) => `${k}=${v}`));
  return JSON.parse(readFileSync(path.join(out, 'reference.json'), 'utf8')) as Record<string, Reference>;
}

describe('exporting a merged model as a checkpoint', () => {
  before(() => {
    const out = runFixtureScript(path.join('engine', 'make_reference.py'), '--demo', demoModel('seed'), demoModel('cand-mul'));
    refs = JSON.parse(readFileSync(path.join(out, 'reference.json'), 'utf8')) as Record<string, Reference>;
  });

  it('writes the demo seed plus a merge overlay as a checkpoint that transformers loads with the engine logits', async () => {
    const ref = refs['demo-merged'];
    const out = path.join(tmp(), 'merged');
    const r = await writeCheckpoint({ seedFolder: ref.seed!, overlayFile: ref.overlay!, out, metadata: { 'selfdev.run': 'r' }, card: '# card\n', extraFiles: { 'selfdev-export.json': '{}\n' } });
    assert.deepEqual(r.weightFiles, ['model.safetensors']);
    assert.equal(r.merged, (await readSafetensorsHeader(ref.overlay!)).size);
    assert.ok(r.merged > 0 && r.merged < r.tensors);
    // The seed's other files, the card and the provenance; no partial folder left.
    const files = readdirSync(out).sort();
    for (const f of ['README.md', 'config.json', 'model.safetensors', 'selfdev-export.json', 'tokenizer.json', 'tokenizer_config.json']) assert.ok(files.includes(f), `${f} in ${files}`);
    assert.deepEqual(readdirSync(path.dirname(out)), ['merged']);
    // Metadata: format pt (transformers refuses other formats) and the run's.
    const header = readFileSync(path.join(out, 'model.safetensors'));
    const json = JSON.parse(header.subarray(8, 8 + Number(header.readBigUInt64LE(0))).toString()) as { __metadata__: Record<string, string> };
    assert.deepEqual(json.__metadata__, { format: 'pt', 'selfdev.run': 'r' });

    // The engine: the exported folder gives exactly the logits of the seed with the overlay.
    const viaOverlay = await withSession(ref.seed!, await readSafetensorsHeader(ref.overlay!), (s) => engineLogits(s, ref.cases));
    const viaExport = await withSession(out, undefined, (s) => engineLogits(s, ref.cases));
    viaExport.forEach((l, i) => assert.equal(maxDiff(l, viaOverlay[i]), 0, `case ${i}`));
    // transformers: loads the exported folder, and agrees with the engine within 1e-4.
    const hf = transformersLogits({ exported: out }).exported;
    const engine = await withSession(out, undefined, (s) => engineLogits(s, hf.cases));
    hf.cases.forEach((c, i) => {
      const d = maxDiff(engine[i], c.logits);
      assert.ok(d < 1e-4, `prompt of ${c.ids.length} tokens: transformers and the engine differ by ${d}`);
    });
    // And it is the model transformers makes from the same weights (make_reference's merged-full).
    ref.cases.forEach((c, i) => assert.ok(maxDiff(viaExport[i], c.logits) < 1e-4, `case ${i} against merged-full`));
  });

  it('keeps a bf16 seed in bf16 and an f16 sharded seed byte for byte, with shards and an index where asked', async () => {
    const dir = tmp();
    // bf16: an overlay of its MLP weights halved (bf16 halves exactly: the exponent drops by one).
    const bf16 = await openHfModel(refs['llama-bf16'].folder);
    const mlp = [...bf16.tensors.values()].filter((t) => /mlp\.(gate|up|down)_proj\.weight$/.test(t.name));
    assert.ok(mlp.every((t) => t.dtype === 'BF16'));
    const overlayFile = path.join(dir, 'overlay.safetensors');
    const halved = new Map<string, Uint8Array>();
    for (const t of mlp) {
      const b = Buffer.from(await readTensorBytes(t));
      for (let i = 0; i < b.length; i += 2) {
        const v = b.readUInt16LE(i);
        const exp = (v >> 7) & 0xff;
        if (exp > 1 && exp < 0xff) b.writeUInt16LE(v - (1 << 7), i);
      }
      halved.set(t.name, b);
    }
    await writeSafetensors(overlayFile, mlp.map((t) => ({ name: t.name, dtype: t.dtype, shape: t.shape, data: halved.get(t.name)! })));
    const out = path.join(dir, 'bf16');
    const r = await writeCheckpoint({ seedFolder: bf16.folder, overlayFile, out, maxShardBytes: 40_000 });
    assert.equal(r.dtype, 'BF16');
    assert.ok(r.weightFiles.length > 1, `shards: ${r.weightFiles}`);
    assert.equal(r.weightFiles[0], `model-00001-of-${String(r.weightFiles.length).padStart(5, '0')}.safetensors`);
    const index = JSON.parse(readFileSync(path.join(out, 'model.safetensors.index.json'), 'utf8')) as { metadata: { total_size: number }; weight_map: Record<string, string> };
    assert.equal(index.metadata.total_size, r.totalBytes);
    assert.deepEqual(Object.keys(index.weight_map).sort(), [...bf16.tensors.keys()].sort());
    const back = await openHfModel(out);
    for (const [name, t] of back.tensors) {
      const seedT = bf16.tensors.get(name)!;
      assert.equal(t.dtype, 'BF16', name);
      assert.deepEqual(t.shape, seedT.shape, name);
      assert.ok(Buffer.from(await readTensorBytes(t)).equals(halved.get(name) ?? (await readTensorBytes(seedT))), `${name}: the bytes of the ${halved.has(name) ? 'merge' : 'seed'}`);
    }
    // Each shard under the limit, unless one tensor alone is larger.
    for (const f of r.weightFiles) {
      const inShard = [...back.tensors.values()].filter((t) => path.basename(t.file) === f);
      const bytes = inShard.reduce((n, t) => n + t.length, 0);
      assert.ok(bytes <= 40_000 || inShard.length === 1, `${f}: ${bytes} bytes in ${inShard.length} tensors`);
    }
    // transformers loads the shards; the engine agrees with it.
    const hf = transformersLogits({ bf16: out }).bf16;
    const engine = await withSession(out, undefined, (s) => engineLogits(s, hf.cases));
    hf.cases.forEach((c, i) => assert.ok(maxDiff(engine[i], c.logits) < 1e-4, `bf16 case ${i}`));

    // f16, sharded by its seed, no merge, one file: the seed's tensors byte for byte.
    const f16 = await openHfModel(refs['llama-f16-sharded'].folder);
    const single = path.join(dir, 'f16');
    const s = await writeCheckpoint({ seedFolder: f16.folder, out: single });
    assert.deepEqual(s.weightFiles, ['model.safetensors']);
    assert.equal(existsSync(path.join(single, 'model.safetensors.index.json')), false, "the seed's index is not copied");
    const f16Back = await openHfModel(single);
    for (const [name, t] of f16.tensors) assert.ok(Buffer.from(await readTensorBytes(f16Back.tensors.get(name)!)).equals(Buffer.from(await readTensorBytes(t))), name);
  });

  it('refuses a folder that is not empty, and a merge that does not fit the seed, leaving nothing behind', async () => {
    const ref = refs['demo-merged'];
    const dir = tmp();
    const taken = path.join(dir, 'taken');
    mkdirSync(taken);
    writeFileSync(path.join(taken, 'notes.txt'), 'mine');
    await assert.rejects(writeCheckpoint({ seedFolder: ref.seed!, overlayFile: ref.overlay!, out: taken }), /already exists and is not empty/);
    assert.deepEqual(readdirSync(taken), ['notes.txt']);
    // A merged tensor of the wrong shape, and one the seed does not have.
    const bad = path.join(dir, 'bad.safetensors');
    const first = [...(await readSafetensorsHeader(ref.overlay!)).values()][0];
    await writeSafetensors(bad, [{ name: first.name, dtype: 'F32', shape: [2, 2], data: new Uint8Array(16) }]);
    await assert.rejects(writeCheckpoint({ seedFolder: ref.seed!, overlayFile: bad, out: path.join(dir, 'a') }), /is F32\[2,2\] but the seed's is F32/);
    await writeSafetensors(bad, [{ name: 'model.layers.99.mlp.up_proj.weight', dtype: 'F32', shape: [1], data: new Uint8Array(4) }]);
    await assert.rejects(writeCheckpoint({ seedFolder: ref.seed!, overlayFile: bad, out: path.join(dir, 'b') }), /not a tensor of the seed model/);
    // Cancelled while writing: no folder, no partial folder.
    const controller = new AbortController();
    await assert.rejects(
      writeCheckpoint({ seedFolder: ref.seed!, overlayFile: ref.overlay!, out: path.join(dir, 'c'), signal: controller.signal, onProgress: () => controller.abort() }),
      /cancelled/,
    );
    assert.deepEqual(readdirSync(dir).sort(), ['bad.safetensors', 'taken']);
  });

  it('refuses a disk without room for the checkpoint before writing anything', () => {
    // A 1 MB tmpfs (mounted in a user namespace of its own) for a 3.3 MB model.
    const mnt = tmp();
    const writer = path.join(repoRoot, 'out', 'src', 'engine', 'model', 'checkpointWriter.js');
    const probe = `require(${JSON.stringify(writer)}).writeCheckpoint({ seedFolder: ${JSON.stringify(refs['demo-merged'].seed)}, overlayFile: ${JSON.stringify(refs['demo-merged'].overlay)}, out: ${JSON.stringify(path.join(mnt, 'model'))} })
      .then(() => console.log('written'), (e) => console.log(e.message + '\\n' + JSON.stringify(require('fs').readdirSync(${JSON.stringify(mnt)}))))`;
    const r = spawnSync('unshare', ['--user', '--map-root-user', '--mount', 'sh', '-c', `mount -t tmpfs -o size=1m tmpfs "$0" && exec "$1" -e "$2"`, mnt, process.execPath, probe], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const [message, left] = r.stdout.trim().split('\n');
    assert.match(message, /^not enough space for the checkpoint in .*: it needs 3\.\d MB and 1\.0 MB is free$/);
    assert.equal(left, '[]', 'nothing written');
  });

  it('is served as it is by an OpenAI-compatible server (transformers serve)', async () => {
    // The demo's writer model has a chat template: its export keeps the tokenizer files and the
    // template, and the server loads the folder and answers a chat request.
    const out = path.join(tmp(), 'writer');
    await writeCheckpoint({ seedFolder: demoModel('writer'), out, card: '# writer\n' });
    const server = await startTransformersServe(out);
    try {
      const res = await fetch(`${server.baseUrl}/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: out, messages: [{ role: 'user', content: 'Write a merge function.' }], max_tokens: 8, temperature: 0, stream: false }),
        signal: AbortSignal.timeout(120_000),
      });
      const text = await res.text();
      assert.equal(res.status, 200, text);
      // It streams even when asked not to (FACTS.md): the content is the deltas' together.
      const content = text.startsWith('data:')
        ? text
            .split('\n')
            .filter((l) => l.startsWith('data: {'))
            .map((l) => (JSON.parse(l.slice(6)) as { choices: { delta: { content?: string } }[] }).choices[0]?.delta.content ?? '')
            .join('')
        : (JSON.parse(text) as { choices: { message: { content: string } }[] }).choices[0].message.content;
      assert.ok(content.length > 0, text);
    } finally {
      server.stop();
    }
  });

  it('tells a merge made again from the one that was scored', () => {
    const scored = { elements: 1000, meanAbs: 0.0123, rms: 0.02, maxAbs: 0.5, zeroFraction: 0.25, relativeNorm: 0.031 };
    assert.deepEqual(deltaStatsDiffer(scored, { ...scored }), []);
    // JSON round trips and float reductions move the last digits only.
    assert.deepEqual(deltaStatsDiffer(scored, { ...scored, meanAbs: 0.0123 * (1 + 1e-9) }), []);
    assert.deepEqual(deltaStatsDiffer(scored, { ...scored, rms: 0.0201, zeroFraction: 0.3 }), ['rms', 'zeroFraction']);
    assert.deepEqual(deltaStatsDiffer({ ...scored, relativeNorm: null }, { ...scored, relativeNorm: null }), []);
    assert.deepEqual(deltaStatsDiffer({ ...scored, relativeNorm: null }, scored), ['relativeNorm']);
    assert.deepEqual(deltaStatsDiffer(scored, undefined), Object.keys(scored));
  });
});
