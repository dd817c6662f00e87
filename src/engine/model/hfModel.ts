// Opens a Hugging Face model folder: config.json plus one model.safetensors or shards listed in
// model.safetensors.index.json. Only headers are read; weights stay in their files.
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { ModelError } from './errors';
import { parseDecoderConfig, type DecoderConfig } from './hfConfig';
import { readSafetensorsHeader, type TensorInfo } from './safetensors';

export interface HfModel {
  folder: string;
  config: DecoderConfig;
  tensors: Map<string, TensorInfo>;
}

async function readJson(file: string): Promise<unknown> {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new ModelError(file, code === 'ENOENT' ? 'file not found' : `cannot be read (${code})`);
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new ModelError(file, `not valid JSON (${(err as Error).message})`);
  }
}

export async function openHfModel(folder: string): Promise<HfModel> {
  const dir = path.resolve(folder);
  const stat = await fs.stat(dir).catch(() => undefined);
  if (!stat?.isDirectory()) throw new ModelError(dir, 'model folder not found');
  const configFile = path.join(dir, 'config.json');
  const config = parseDecoderConfig(configFile, await readJson(configFile));
  const tensors = await readWeights(dir);
  checkTensors(dir, config, tensors);
  return { folder: dir, config, tensors };
}

async function readWeights(dir: string): Promise<Map<string, TensorInfo>> {
  const single = path.join(dir, 'model.safetensors');
  const index = path.join(dir, 'model.safetensors.index.json');
  const has = async (f: string) => (await fs.stat(f).catch(() => undefined))?.isFile() ?? false;
  if (await has(index)) {
    const json = (await readJson(index)) as { weight_map?: Record<string, string> };
    if (!json.weight_map || typeof json.weight_map !== 'object') throw new ModelError(index, 'missing "weight_map"');
    const shards = [...new Set(Object.values(json.weight_map))];
    const all = new Map<string, TensorInfo>();
    for (const shard of shards) {
      if (path.basename(shard) !== shard) throw new ModelError(index, `shard "${shard}" must be a file name in the model folder`);
      for (const [name, info] of await readSafetensorsHeader(path.join(dir, shard))) all.set(name, info);
    }
    for (const [name, shard] of Object.entries(json.weight_map)) {
      const info = all.get(name);
      if (!info || path.basename(info.file) !== shard) throw new ModelError(index, `tensor ${name} is not in shard ${shard}`);
    }
    return all;
  }
  if (await has(single)) return readSafetensorsHeader(single);
  const others = (await fs.readdir(dir)).filter((f) => /\.(bin|pt|pth|gguf)$/.test(f));
  throw new ModelError(
    dir,
    `no model.safetensors or model.safetensors.index.json${others.length ? ` (found ${others.join(', ')}: only safetensors weights are supported)` : ''}`,
  );
}

/** Every tensor the architecture needs, with its shape. */
export function expectedTensors(c: DecoderConfig): Map<string, number[]> {
  const m = new Map<string, number[]>();
  const q = c.numHeads * c.headDim;
  const kv = c.numKvHeads * c.headDim;
  m.set('model.embed_tokens.weight', [c.vocabSize, c.hiddenSize]);
  for (let l = 0; l < c.numLayers; l++) {
    const p = `model.layers.${l}`;
    m.set(`${p}.input_layernorm.weight`, [c.hiddenSize]);
    m.set(`${p}.post_attention_layernorm.weight`, [c.hiddenSize]);
    m.set(`${p}.self_attn.q_proj.weight`, [q, c.hiddenSize]);
    m.set(`${p}.self_attn.k_proj.weight`, [kv, c.hiddenSize]);
    m.set(`${p}.self_attn.v_proj.weight`, [kv, c.hiddenSize]);
    m.set(`${p}.self_attn.o_proj.weight`, [c.hiddenSize, q]);
    if (c.qkvBias) {
      m.set(`${p}.self_attn.q_proj.bias`, [q]);
      m.set(`${p}.self_attn.k_proj.bias`, [kv]);
      m.set(`${p}.self_attn.v_proj.bias`, [kv]);
    }
    if (c.oBias) m.set(`${p}.self_attn.o_proj.bias`, [c.hiddenSize]);
    m.set(`${p}.mlp.gate_proj.weight`, [c.intermediateSize, c.hiddenSize]);
    m.set(`${p}.mlp.up_proj.weight`, [c.intermediateSize, c.hiddenSize]);
    m.set(`${p}.mlp.down_proj.weight`, [c.hiddenSize, c.intermediateSize]);
    if (c.mlpBias) {
      m.set(`${p}.mlp.gate_proj.bias`, [c.intermediateSize]);
      m.set(`${p}.mlp.up_proj.bias`, [c.intermediateSize]);
      m.set(`${p}.mlp.down_proj.bias`, [c.hiddenSize]);
    }
  }
  m.set('model.norm.weight', [c.hiddenSize]);
  if (!c.tieWordEmbeddings) m.set('lm_head.weight', [c.vocabSize, c.hiddenSize]);
  return m;
}

const FLOAT_DTYPES = new Set(['F32', 'F16', 'BF16']);

function checkTensors(dir: string, c: DecoderConfig, tensors: Map<string, TensorInfo>): void {
  for (const [name, shape] of expectedTensors(c)) {
    const t = tensors.get(name);
    if (!t) throw new ModelError(dir, `tensor ${name} is missing from the weights`);
    if (t.shape.join(',') !== shape.join(',')) {
      throw new ModelError(t.file, `tensor ${name} has shape [${t.shape}] but config.json implies [${shape}]`);
    }
    if (!FLOAT_DTYPES.has(t.dtype)) throw new ModelError(t.file, `tensor ${name} has dtype ${t.dtype}; expected F32, F16 or BF16`);
  }
}
