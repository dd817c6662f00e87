import * as assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  CHOICE_POINTS,
  DEFAULT_REFINE_OPTIONS,
  TRACE_MARKER,
  baselineFamily,
  buildTrace,
  canonicalKey,
  describeFactory,
  entropyBits,
  initialFactory,
  logProbability,
  normaliseCode,
  parseFactoryState,
  programFromTrace,
  refineWithDpo,
  renderTrace,
  sampleAlgorithms,
  summariseProgram,
  traceDecisions,
  traceFromCode,
} from '../../src/core/factory';

/** Mean empirical entropy (bits) of the options taken at each choice point, over many samples. */
function sampledEntropy(temperature: number): number {
  const counts = new Map<string, number[]>();
  for (const s of sampleAlgorithms(initialFactory(), 800, temperature, 3)) {
    for (const { point, option } of traceDecisions(s.trace)) {
      const row = counts.get(point) ?? CHOICE_POINTS.find((p) => p.id === point)!.options.map(() => 0);
      row[option]++;
      counts.set(point, row);
    }
  }
  const always = ['pre.count', 'combine.op', 'post.count', 'post.scale'];
  return always.reduce((a, point) => {
    const row = counts.get(point)!;
    const total = row.reduce((x, y) => x + y, 0);
    return a + entropyBits(row.map((c) => c / total));
  }, 0) / always.length;
}

describe('sampleAlgorithms', () => {
  it('is reproducible from its seed, and longer runs extend shorter ones', () => {
    const state = initialFactory();
    const a = sampleAlgorithms(state, 50, 1.2, 42);
    assert.deepEqual(sampleAlgorithms(state, 50, 1.2, 42), a);
    assert.deepEqual(sampleAlgorithms(state, 20, 1.2, 42), a.slice(0, 20));
    const b = sampleAlgorithms(state, 50, 1.2, 43);
    assert.notDeepEqual(b.map((s) => s.trace), a.map((s) => s.trace));
  });

  it('reports the log-probability of each trace at temperature 1', () => {
    const state = refineWithDpo(initialFactory(), [{ chosen: buildTrace({ 'combine.op': 'fold' }), rejected: buildTrace({}) }], DEFAULT_REFINE_OPTIONS).state;
    for (const s of sampleAlgorithms(state, 30, 0.7, 1)) {
      assert.ok(Math.abs(s.logProb - logProbability(state, s.trace)) < 1e-12);
      assert.ok(s.logProb < 0);
      assert.equal(s.canonical, canonicalKey(programFromTrace(s.trace)));
      assert.equal(s.summary, summariseProgram(programFromTrace(s.trace)));
    }
  });

  it('samples with less entropy as the temperature falls', () => {
    const h = [2, 1.2, 1, 0.5, 0.2].map(sampledEntropy);
    for (let i = 1; i < h.length; i++) assert.ok(h[i] < h[i - 1], `entropies ${h.map((x) => x.toFixed(3)).join(', ')}`);
  });

  it('refuses a temperature that is not positive', () => {
    assert.throws(() => sampleAlgorithms(initialFactory(), 1, 0, 1), /temperature must be a positive number/);
  });

  it('writes many distinct programs', () => {
    const samples = sampleAlgorithms(initialFactory(), 1000, 1.0, 9);
    const canonical = new Set(samples.map((s) => s.canonical));
    assert.ok(canonical.size > 700, `${canonical.size} distinct of 1000`);
    const combines = new Set(samples.map((s) => programFromTrace(s.trace).combine.op));
    assert.equal(combines.size, 9);
  });
});

describe('code and traces', () => {
  const state = initialFactory();
  const samples = sampleAlgorithms(state, 200, 1.5, 77);

  it('gets the trace back from code the factory wrote', () => {
    for (const s of samples) {
      assert.deepEqual(traceFromCode(state, s.code), s.trace);
      assert.equal(renderTrace(s.trace), s.code);
    }
    assert.deepEqual(traceFromCode(state, samples[0].code.replace(/\n/g, '\r\n')), samples[0].trace, 'CRLF line endings');
  });

  it('gives undefined for edited or foreign code', () => {
    const code = samples.find((s) => s.code.includes('SCALE = '))!.code;
    const edits = [
      code.replace(/^SCALE = .*$/m, 'SCALE = 0.123'),
      code.replace('import numpy as np', 'import numpy as np  # mine'),
      code.replace(/^# selfdev-factory-trace.*\n/m, ''),
      code.replace(TRACE_MARKER, `${TRACE_MARKER}1.`),
      code.replace(/(# selfdev-factory-trace: v1 )\d+/, '$1999'),
      code.replace('def merge(task_vectors, name):', 'def merge(task_vectors, name):\n    pass'),
      'def merge(task_vectors, name):\n    return task_vectors[0] * 1.0\n',
      `${TRACE_MARKER}0.0.0\n`,
    ];
    for (const edited of edits) assert.equal(traceFromCode(state, edited), undefined, edited.slice(0, 200));
  });

  it('writes code in the algorithm contract: docstring, constants, merge(task_vectors, name)', () => {
    const ties = renderTrace(buildTrace({ 'pre.count': 1, 'pre.op': 'trim_top_k', 'pre.trim_top_k.density': 0.3, 'combine.op': 'ties', 'post.scale': 1.0 }));
    assert.match(ties, /^"""TIES-like: trim to top 30% \+ sign elect by mass \+ disjoint mean \+ scale 1\n/);
    assert.match(ties, /^TRIM_DENSITY = 0\.3$/m);
    assert.match(ties, /^def merge\(task_vectors, name\):$/m);
    assert.match(ties, /^def sign_elected_merge\(taus\):$/m);
    assert.doesNotMatch(ties, /def fold_in_sequence/, 'only the helpers it uses');
    for (const s of samples) {
      const imports = s.code.split('\n').filter((l) => /^\s*(import|from) /.test(l));
      assert.ok(imports.every((l) => /^(import numpy as np|\s+import torch)$/.test(l)), imports.join('; '));
    }
  });

  it('repeats an operator with numbered constants', () => {
    const code = renderTrace(buildTrace({ 'pre.count': 2, 'pre.op': 'clip', 'pre.clip.ratio': [1.0, 3.0], 'combine.op': 'mean' }));
    assert.match(code, /^CLIP_STDS = 1\.0$/m);
    assert.match(code, /^CLIP_STDS_2 = 3\.0$/m);
  });
});

describe('canonical programs and summaries', () => {
  it('identifies programs that compute the same thing', () => {
    const key = (c: Parameters<typeof buildTrace>[0]): string => canonicalKey(programFromTrace(buildTrace(c)));
    const equalWeights = { 'combine.op': 'sum', 'combine.sum.weights': 'per_candidate', 'combine.sum.weight1': 0.6, 'combine.sum.weight2': 0.6, 'combine.sum.weight3': 0.6 };
    assert.equal(key({ ...equalWeights, 'post.scale': 0.5 }), key({ 'combine.op': 'sum', 'post.scale': 0.3 }));
    assert.notEqual(key({ ...equalWeights, 'combine.sum.weight3': 1.0 }), key({ 'combine.op': 'sum' }));
    const neutral = { 'post.count': 1, 'post.op': 'module_scale', 'post.module_scale.gate': 1.0, 'post.module_scale.up': 1.0, 'post.module_scale.down': 1.0 };
    assert.equal(key({ 'combine.op': 'median', ...neutral }), key({ 'combine.op': 'median' }));
    const matched = { 'post.count': 1, 'post.op': 'match_norm' };
    assert.equal(key({ 'combine.op': 'mean', ...matched }), key({ 'combine.op': 'sum', ...matched }));
    assert.notEqual(key({ 'combine.op': 'mean' }), key({ 'combine.op': 'sum' }));
  });

  it('names the baseline a program is a variant of', () => {
    const family = (c: Parameters<typeof buildTrace>[0]): string | undefined => baselineFamily(programFromTrace(buildTrace(c)));
    assert.equal(family({ 'combine.op': 'sum', 'post.scale': 0.5 }), 'task-arithmetic-like');
    assert.equal(family({ 'combine.op': 'mean', 'post.scale': 1.0 }), 'average');
    assert.equal(family({ 'pre.count': 1, 'pre.op': 'trim_top_k', 'combine.op': 'ties' }), 'TIES-like');
    assert.equal(family({ 'pre.count': 1, 'pre.op': 'drop_rescale', 'combine.op': 'sum' }), 'DARE-like');
    assert.equal(family({ 'combine.op': 'fold' }), undefined);
  });
});

describe('factory state', () => {
  it('survives a JSON round trip and samples the same afterwards', () => {
    const refined = refineWithDpo(initialFactory(7), [{ chosen: buildTrace({ 'combine.op': 'fold' }), rejected: buildTrace({}) }], DEFAULT_REFINE_OPTIONS).state;
    const back = parseFactoryState(JSON.parse(JSON.stringify(refined)));
    assert.deepEqual(back, refined);
    assert.deepEqual(sampleAlgorithms(back, 20, 1, 5), sampleAlgorithms(refined, 20, 1, 5));
    assert.equal(back.seed, 7);
    assert.equal(back.version, 1);
    assert.equal(back.parentVersion, 0);
  });

  it('refuses a damaged file with a message that says what is wrong', () => {
    const good = JSON.parse(JSON.stringify(initialFactory())) as Record<string, unknown>;
    assert.throws(() => parseFactoryState([]), /not a JSON object/);
    assert.throws(() => parseFactoryState({ ...good, grammar: 'other/9' }), /grammar is "other\/9"/);
    const logits = good.logits as Record<string, number[]>;
    assert.throws(() => parseFactoryState({ ...good, logits: { ...logits, 'combine.op': [1, 2] } }), /logits of combine.op must be 9 finite numbers/);
    assert.throws(() => parseFactoryState({ ...good, logits: { ...logits, 'post.scale': [NaN, 0, 0, 0, 0, 0, 0, 0, 0] } }), /logits of post.scale/);
    assert.throws(() => parseFactoryState({ ...good, logits: { ...logits, extra: [0] } }), /unknown choice points: extra/);
  });

  it('is described in markdown: lineage, refinement, top options and entropy per decision', () => {
    const fresh = describeFactory(initialFactory());
    assert.match(fresh, /^# Grammar factory, version 0\n/);
    assert.match(fresh, /prior of a fresh factory/);
    for (const point of CHOICE_POINTS) assert.ok(fresh.includes(`\`${point.id}\``), point.id);
    const refined = refineWithDpo(initialFactory(), [{ chosen: buildTrace({ 'combine.op': 'fold' }), rejected: buildTrace({}) }], DEFAULT_REFINE_OPTIONS).state;
    const text = describeFactory(refined, 0.857);
    assert.match(text, /version 1 \(refined from version 0\)/);
    assert.match(text, /exact DPO from 1 preference pairs \(beta 0\.5/);
    assert.match(text, /temperature 0\.857/);
    assert.match(text, /\| combination of the task vectors \(`combine.op`\) \| fold 0\.\d+/);
  });
});

describe('normaliseCode', () => {
  const a = '"""Doc."""\nimport numpy as np\n\n# a comment\nSCALE = 0.5\n\n\ndef merge(task_vectors, name):\n    """Merge."""\n    total = sum(task_vectors)  # add\n    return total * SCALE\n';
  it('ignores comments, docstrings, blank lines, spacing, indentation width and line breaks in brackets', () => {
    const b = "import numpy   as np\nSCALE=0.5\ndef merge( task_vectors,\n           name ):\n  total=sum(task_vectors)\n  return total*SCALE";
    assert.equal(normaliseCode(a), normaliseCode(b));
    assert.equal(normaliseCode(a), 'import numpy as np\nSCALE=0.5\ndef merge(task_vectors,name):\n total=sum(task_vectors)\n return total*SCALE');
  });
  it('keeps what changes the program', () => {
    assert.notEqual(normaliseCode(a), normaliseCode(a.replace('0.5', '0.6')));
    assert.notEqual(normaliseCode('x = "a  # b"\n'), normaliseCode('x = "a"\n'));
    assert.notEqual(normaliseCode('if a:\n    b()\nc()\n'), normaliseCode('if a:\n    b()\n    c()\n'));
  });
  it('gives the same form to factory code with and without its comments', () => {
    const code = sampleAlgorithms(initialFactory(), 1, 1, 1)[0].code;
    assert.equal(normaliseCode(code), normaliseCode(code.replace(/#.*$/gm, '')));
  });
});
