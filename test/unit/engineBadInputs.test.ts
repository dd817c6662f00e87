// Broken model folders and weight files: each a clear error naming the file and the problem.
import * as assert from 'node:assert/strict';
import { copyFileSync, cpSync, mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { openHfModel } from '../../src/engine/model/hfModel';
import { readSafetensorsHeader } from '../../src/engine/model/safetensors';
import { loadTokenizer } from '../../src/engine/model/tokenizer';
import { demoModel } from './support/python';

function copyOfSeed(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'selfdev-bad-'));
  cpSync(demoModel('seed'), dir, { recursive: true });
  return dir;
}

function rewriteHeader(file: string, edit: (h: Record<string, { dtype: string; shape: number[]; data_offsets: number[] }>) => void): void {
  const buf = readFileSync(file);
  const len = Number(buf.readBigUInt64LE(0));
  const header = JSON.parse(buf.subarray(8, 8 + len).toString('utf8'));
  edit(header);
  // Pad to the same length so the data offsets stay valid.
  let text = JSON.stringify(header);
  if (text.length > len) throw new Error('edited header is longer than the original');
  text = text.padEnd(len, ' ');
  writeFileSync(file, Buffer.concat([buf.subarray(0, 8), Buffer.from(text), buf.subarray(8 + len)]));
}

const weights = (dir: string) => path.join(dir, 'model.safetensors');

describe('bad model inputs', () => {
  it('a missing folder', async () => {
    await assert.rejects(openHfModel('/nonexistent/model'), /\/nonexistent\/model: model folder not found/);
  });

  it('an empty safetensors file', async () => {
    const dir = copyOfSeed();
    truncateSync(weights(dir), 0);
    await assert.rejects(readSafetensorsHeader(weights(dir)), /model\.safetensors: truncated: 0 bytes/);
  });

  it('missing weights name the folder and what was found', async () => {
    const dir = copyOfSeed();
    copyFileSync(weights(dir), path.join(dir, 'pytorch_model.bin'));
    rmSync(weights(dir));
    await assert.rejects(openHfModel(dir), /no model\.safetensors or model\.safetensors\.index\.json \(found pytorch_model\.bin: only safetensors/);
  });

  it('a truncated safetensors file', async () => {
    const dir = copyOfSeed();
    const size = readFileSync(weights(dir)).length;
    truncateSync(weights(dir), size - 1000);
    await assert.rejects(openHfModel(dir), /model\.safetensors: truncated: tensor .* ends at byte \d+ but the file has \d+ bytes/);
  });

  it('a header that lies about a tensor size', async () => {
    const dir = copyOfSeed();
    rewriteHeader(weights(dir), (h) => {
      h['model.norm.weight'].shape = [64];
    });
    await assert.rejects(openHfModel(dir), /tensor model\.norm\.weight: header says 512 bytes but F32\[64\] needs 256/);
  });

  it('a header length larger than the file', async () => {
    const dir = copyOfSeed();
    const buf = readFileSync(weights(dir));
    buf.writeBigUInt64LE(BigInt(buf.length), 0);
    writeFileSync(weights(dir), buf);
    await assert.rejects(openHfModel(dir), /header length \d+ does not fit a file of \d+ bytes/);
  });

  it('a wrong dtype', async () => {
    const dir = copyOfSeed();
    rewriteHeader(weights(dir), (h) => {
      h['model.norm.weight'].dtype = 'I32';
    });
    await assert.rejects(openHfModel(dir), /tensor model\.norm\.weight has dtype I32; expected F32, F16 or BF16/);
  });

  it('a tensor whose shape disagrees with config.json', async () => {
    const dir = copyOfSeed();
    const cfg = JSON.parse(readFileSync(path.join(dir, 'config.json'), 'utf8'));
    cfg.intermediate_size += 1;
    writeFileSync(path.join(dir, 'config.json'), JSON.stringify(cfg));
    await assert.rejects(openHfModel(dir), /tensor model\.layers\.0\.mlp\.gate_proj\.weight has shape \[\d+,\d+\] but config\.json implies/);
  });

  it('an unsupported architecture or field', async () => {
    const dir = copyOfSeed();
    const file = path.join(dir, 'config.json');
    const cfg = JSON.parse(readFileSync(file, 'utf8'));
    writeFileSync(file, JSON.stringify({ ...cfg, architectures: ['GPT2LMHeadModel'] }));
    await assert.rejects(openHfModel(dir), /config\.json: unsupported architecture \["GPT2LMHeadModel"\]/);
    writeFileSync(file, JSON.stringify({ ...cfg, rope_scaling: { rope_type: 'yarn', factor: 4 } }));
    await assert.rejects(openHfModel(dir), /rope_scaling type "yarn" is not supported/);
    writeFileSync(file, JSON.stringify({ ...cfg, hidden_act: 'gelu' }));
    await assert.rejects(openHfModel(dir), /"hidden_act" is "gelu"; only "silu" is supported/);
    writeFileSync(file, '{ not json');
    await assert.rejects(openHfModel(dir), /config\.json: not valid JSON/);
  });

  it('a tokenizer that is not one', async () => {
    const dir = copyOfSeed();
    writeFileSync(path.join(dir, 'tokenizer.json'), '{"model": {"type": "Nope"}}');
    await assert.rejects(loadTokenizer(dir), /tokenizer\.json: not a usable tokenizer/);
  });
});
