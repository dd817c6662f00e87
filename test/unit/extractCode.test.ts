// Extraction of the algorithm from an LLM completion, on messy completions; what comes out is
// then judged by the runner's own contract check (Python), as the loop will judge it.
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { extractAlgorithm } from '../../src/core/factory/extractCode';
import { repoRoot } from '../harness/paths';

const python = process.env.SELFDEV_PYTHON ?? 'python3';
const MERGE = 'import numpy as np\n\ndef merge(task_vectors, name):\n    return np.mean(task_vectors, axis=0)\n';

/** The runner's verdict on each source: "ok" or the failure class of its contract check. */
function contractCheck(sources: string[]): string[] {
  const code = `import json, sys
sys.path.insert(0, ${JSON.stringify(path.join(repoRoot, 'resources', 'python'))})
from selfdev_runner import checks
out = []
for s in json.load(sys.stdin):
    try:
        checks.check_source(s)
        out.append("ok")
    except checks.ContractError as e:
        out.append(e.error_class)
print(json.dumps(out))`;
  const r = spawnSync(python, ['-c', code], { input: JSON.stringify(sources), encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as string[];
}

const cases: { name: string; completion: string; from?: 'fenced' | 'bare'; verdict: string; truncated?: boolean }[] = [
  { name: 'prose around a fenced block', completion: `Here is a merge that averages the task vectors:\n\n\`\`\`python\n${MERGE}\`\`\`\n\nIt is simple and robust.`, from: 'fenced', verdict: 'ok' },
  { name: 'several blocks: the one defining merge', completion: `First a helper:\n\`\`\`python\ndef helper(x):\n    return x\n\`\`\`\nThen:\n\`\`\`\n${MERGE}\`\`\`\n`, from: 'fenced', verdict: 'ok' },
  { name: 'a shell block and a python block', completion: `\`\`\`bash\npip install numpy\n\`\`\`\n\`\`\`py\n${MERGE}\`\`\``, from: 'fenced', verdict: 'ok' },
  { name: 'truncated inside its block', completion: '```python\nimport numpy as np\n\ndef merge(task_vectors, name):\n    return np.mean(task_vec', from: 'fenced', verdict: 'syntax', truncated: true },
  { name: 'a different function name', completion: '```python\ndef combine(task_vectors, name):\n    return task_vectors[0]\n```', from: 'fenced', verdict: 'missing_function' },
  { name: 'tabs for indentation', completion: '```python\ndef merge(task_vectors, name):\n\tx = task_vectors[0]\n\treturn x * 0.5\n```', from: 'fenced', verdict: 'ok' },
  { name: 'bare code between prose', completion: `Sure. Use this:\n${MERGE}\nThis averages them.\n`, from: 'bare', verdict: 'ok' },
  { name: 'bare code with Windows line ends', completion: MERGE.replace(/\n/g, '\r\n'), from: 'bare', verdict: 'ok' },
];

describe('extracting the algorithm from a completion', () => {
  it('finds the code in messy completions, and the runner judges it as expected', () => {
    const got = cases.map((c) => extractAlgorithm(c.completion));
    for (const [i, c] of cases.entries()) {
      const g = got[i];
      assert.ok(g.ok, `${c.name}: ${JSON.stringify(g)}`);
      if (!g.ok) continue;
      assert.equal(g.from, c.from, c.name);
      assert.equal(g.truncated, c.truncated ?? false, c.name);
      assert.ok(!g.code.includes('```') && !/Here is|Sure|This averages|It is simple/.test(g.code), `${c.name}: no prose or fences left: ${g.code}`);
    }
    const verdicts = contractCheck(got.map((g) => (g.ok ? g.code : '')));
    assert.deepEqual(verdicts, cases.map((c) => c.verdict));
  });

  it('says which block it took and what it normalised', () => {
    const two = extractAlgorithm(`\`\`\`python\ndef helper(x):\n    return x\n\`\`\`\n\`\`\`python\n${MERGE}\`\`\``);
    assert.ok(two.ok && two.blocks === 2 && two.chosen === 1 && two.definesMerge);
    const tabs = extractAlgorithm('```python\ndef merge(t, n):\n\treturn t[0]\n```');
    assert.ok(tabs.ok && tabs.normalised && tabs.code === 'def merge(t, n):\n    return t[0]\n');
    const named = extractAlgorithm('```python\ndef combine(t, n):\n    return t[0]\n```');
    assert.ok(named.ok && !named.definesMerge);
  });

  it('fails as no_code when there is no code at all', () => {
    for (const c of ['', '   \n', 'I cannot help with that.', 'Merging models:\n1. average\n2. prune\n', '```text\njust words\n```']) {
      const r = extractAlgorithm(c);
      assert.ok(!r.ok, JSON.stringify(c));
      if (!r.ok) assert.equal(r.failure, 'no_code');
    }
  });
});
