// Rotary position tables as Hugging Face computes them (float32 arithmetic, halves rotated, the
// frequencies repeated over both halves), including Llama 3's frequency scaling.
import type { DecoderConfig } from './hfConfig';

const f = Math.fround;

export function inverseFrequencies(c: DecoderConfig): Float32Array {
  const half = c.headDim / 2;
  const inv = new Float32Array(half);
  for (let i = 0; i < half; i++) inv[i] = f(1 / f(Math.pow(c.ropeTheta, f((2 * i) / c.headDim))));
  const s = c.ropeScaling;
  if (!s) return inv;
  const lowWavelen = s.originalMaxPositionEmbeddings / s.lowFreqFactor;
  const highWavelen = s.originalMaxPositionEmbeddings / s.highFreqFactor;
  for (let i = 0; i < half; i++) {
    const wavelen = (2 * Math.PI) / inv[i];
    if (wavelen > lowWavelen) inv[i] = f(inv[i] / s.factor);
    else if (wavelen >= highWavelen) {
      const smooth = (s.originalMaxPositionEmbeddings / wavelen - s.lowFreqFactor) / (s.highFreqFactor - s.lowFreqFactor);
      inv[i] = f((1 - smooth) * (inv[i] / s.factor) + smooth * inv[i]);
    }
  }
  return inv;
}

/** cos and sin tables of shape [positions, headDim]. */
export function rotaryTables(c: DecoderConfig, positions: number): { cos: Float32Array; sin: Float32Array } {
  const inv = inverseFrequencies(c);
  const d = c.headDim;
  const half = d / 2;
  const cos = new Float32Array(positions * d);
  const sin = new Float32Array(positions * d);
  for (let p = 0; p < positions; p++) {
    for (let i = 0; i < half; i++) {
      const angle = f(p * inv[i]);
      const cv = Math.cos(angle);
      const sv = Math.sin(angle);
      cos[p * d + i] = cos[p * d + half + i] = cv;
      sin[p * d + i] = sin[p * d + half + i] = sv;
    }
  }
  return { cos, sin };
}
