// Generated programs run: one Python process executes hundreds of them on random task vectors
// and compares their results with task arithmetic, TIES and averaging computed here.
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { repoRoot } from '../harness/paths';
import { type FactorySample, initialFactory, programFromTrace, renderCompact, sampleAlgorithms } from '../../src/core/factory';

const PYTHON = process.env.SELFDEV_PYTHON ?? 'python3';

// Reads {"programs": [code, ...]} on stdin; prints one JSON result per program.
const HARNESS = String.raw`
import json, sys
import numpy as np

rng = np.random.default_rng(0)
CASES = [
    ("model.layers.3.mlp.up_proj.weight", [rng.normal(0, 0.02, (6, 4)).astype(np.float32) for _ in range(3)]),
    ("model.layers.0.mlp.down_proj.bias", [rng.normal(0, 0.02, (5,)).astype(np.float32) for _ in range(3)]),
]

def ties(taus, density, lam):
    trimmed = []
    for t in taus:
        flat = t.reshape(-1)
        k = max(1, int(density * flat.size))
        out = np.zeros_like(flat)
        if k >= flat.size:
            out = flat.copy()
        else:
            keep = np.argpartition(-np.abs(flat), k - 1)[:k]
            out[keep] = flat[keep]
        trimmed.append(out.reshape(t.shape))
    s = np.stack(trimmed)
    elected = np.where(s.sum(axis=0) >= 0, 1.0, -1.0)
    agree = np.sign(s) == elected
    count = agree.sum(axis=0)
    total = np.where(agree, s, 0.0).sum(axis=0)
    return np.where(count > 0, total / np.maximum(count, 1), 0.0) * lam

# Each baseline up to its coefficient: a program equals it when its result is c * baseline
# for one c > 0 on every test case (so any grid of coefficients is covered).
def baselines(taus):
    out = {"task arithmetic / average": np.sum(np.stack(taus), axis=0)}
    for d in (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0):
        out["ties %.1f" % d] = ties(taus, d, 1.0)
    return out

def scaled_copy(outs, bases):
    num = sum(float(np.sum(o.astype(np.float64) * b)) for o, b in zip(outs, bases))
    den = sum(float(np.sum(b.astype(np.float64) ** 2)) for b in bases)
    c = num / den if den > 0 else 0.0
    return c > 0 and all(np.allclose(o, c * b, rtol=1e-4, atol=1e-7) for o, b in zip(outs, bases))

BASE = [baselines(taus) for _, taus in CASES]
# The runner's own static contract check (imports, names, attributes, merge's signature).
sys.path.insert(0, sys.argv[1])
from selfdev_runner.checks import check_source

try:
    import torch
except Exception:
    torch = None

results = []
for i, code in enumerate(json.load(sys.stdin)["programs"]):
    r = {"ok": True, "problems": [], "equals": None, "digest": ""}
    try:
        check_source(code)
        ns = {"__name__": "algorithm"}
        exec(compile(code, "<program %d>" % i, "exec"), ns)
        outs = []
        for (name, taus), base in zip(CASES, BASE):
            before = [t.copy() for t in taus]
            np.random.seed(1)
            out = ns["merge"](taus, name)
            outs.append(out)
            if not isinstance(out, np.ndarray): r["problems"].append("not an ndarray")
            elif out.shape != taus[0].shape: r["problems"].append("shape %s" % (out.shape,))
            elif out.dtype != np.float32: r["problems"].append("dtype %s" % out.dtype)
            elif not np.all(np.isfinite(out)): r["problems"].append("not finite")
            if any(not np.array_equal(a, b) for a, b in zip(before, taus)): r["problems"].append("changed its input")
        if not r["problems"]:
            same = [k for k in BASE[0] if scaled_copy(outs, [b[k] for b in BASE])]
            r["equals"] = same[0] if same else None
            r["digest"] = ";".join(",".join("%.5g" % v for v in o.reshape(-1)) for o in outs)
            if torch is not None and i % 10 == 0:
                np.random.seed(1)
                t_out = ns["merge"]([torch.from_numpy(t) for t in CASES[0][1]], CASES[0][0])
                if not (isinstance(t_out, torch.Tensor) and np.allclose(t_out.numpy(), outs[0])): r["problems"].append("torch path differs")
    except Exception as e:
        r["problems"].append("%s: %s" % (type(e).__name__, e))
    r["ok"] = not r["problems"]
    results.append(r)
print(json.dumps(results))
`;

interface PyResult {
  ok: boolean;
  problems: string[];
  equals: string | null;
  digest: string;
}

function runPrograms(samples: Pick<FactorySample, 'code'>[]): PyResult[] {
  const stdout = execFileSync(PYTHON, ['-c', HARNESS, path.join(repoRoot, 'resources', 'python')], {
    input: JSON.stringify({ programs: samples.map((s) => s.code) }),
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
    timeout: 60_000,
  });
  return JSON.parse(stdout) as PyResult[];
}

describe('generated Python', () => {
  // Sampled hot (T = 2) so that rare operators and constants turn up too.
  const samples = [...sampleAlgorithms(initialFactory(), 200, 1.0, 11), ...sampleAlgorithms(initialFactory(), 200, 2.0, 12)];
  const results = runPrograms(samples);

  it('passes the runner\'s contract check and runs: right shape, float32, finite, inputs untouched (400 programs, 1-D and 2-D)', () => {
    const failures = results
      .map((r, i) => ({ r, s: samples[i] }))
      .filter(({ r }) => !r.ok)
      .map(({ r, s }) => `${s.summary}: ${r.problems.join('; ')}`);
    assert.deepEqual(failures, []);
  });

  it('writes programs that none of the baselines equals, and they compute different things', () => {
    const novel = results.filter((r) => r.ok && r.equals === null);
    assert.ok(novel.length > samples.length / 2, `${novel.length} of ${samples.length} differ from every baseline`);
    const distinctOutputs = new Set(novel.map((r) => r.digest));
    assert.ok(distinctOutputs.size > 150, `${distinctOutputs.size} distinct results`);
  });

  it('writes the same programs compactly on the helper library (selfdev_merge): same results, numpy and torch', () => {
    const compact = samples.map((s) => ({ code: renderCompact(programFromTrace(s.trace)) }));
    const out = runPrograms(compact);
    const differ = out.map((r, i) => ({ r, i })).filter(({ r, i }) => !r.ok || r.digest !== results[i].digest);
    assert.deepEqual(differ.map(({ r, i }) => `${samples[i].summary}: ${r.problems.join('; ') || 'other result'}\n${compact[i].code}`), []);
    // Compact means short: a third or less of the self-contained module on average.
    const ratio = compact.reduce((a, c) => a + c.code.length, 0) / samples.reduce((a, s) => a + s.code.length, 0);
    assert.ok(ratio < 0.35, `compact/full length ${ratio.toFixed(2)}`);
  });

  it('also reaches the baselines themselves (the space contains them)', () => {
    const hits = results.filter((r) => r.equals !== null).map((r) => r.equals as string);
    assert.ok(hits.some((h) => h.startsWith('task arithmetic')), hits.join(', '));
    assert.ok(hits.some((h) => h.startsWith('ties')), hits.join(', '));
  });

  it('gives one canonical key to programs with the same result', () => {
    const digestOf = new Map<string, string>();
    for (const [i, s] of samples.entries()) {
      const r = results[i];
      if (!r.ok || s.code.includes('drop_and_rescale(')) continue;
      const seen = digestOf.get(s.canonical);
      if (seen !== undefined) assert.equal(r.digest, seen, s.canonical);
      digestOf.set(s.canonical, r.digest);
    }
  });
});

describe('the helper library selfdev_merge', () => {
  it('defines each shared helper exactly as the self-contained modules inline it', async () => {
    const { HELPERS } = await import('../../src/core/factory/pythonHelpers');
    const library = readFileSync(path.join(repoRoot, 'resources', 'python', 'selfdev_merge.py'), 'utf8');
    const differ = Object.entries(HELPERS).filter(([, text]) => !library.includes(text)).map(([name]) => name);
    assert.deepEqual(differ, []);
  });
});
