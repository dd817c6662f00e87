import * as assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { BenchmarkError, loadBenchmark } from '../../src/engine/eval';
import { repoRoot } from '../harness/paths';

const fixtures = path.join(repoRoot, 'test', 'fixtures', 'eval');
const demoData = path.join(repoRoot, 'resources', 'demo', 'data');
const tmp = mkdtempSync(path.join(os.tmpdir(), 'selfdev-unit-eval-'));

function file(name: string, text: string | Buffer): string {
  const p = path.join(tmp, name);
  writeFileSync(p, text);
  return p;
}

const jsonl = (...rows: unknown[]) => rows.map((r) => JSON.stringify(r)).join('\n') + '\n';

/** Asserts a BenchmarkError whose message names the file (and line or row) and matches `problem`. */
async function rejectsWith(p: Promise<unknown>, where: string, problem: RegExp): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof BenchmarkError, `a BenchmarkError, not ${String(err)}`);
    assert.ok(err.message.startsWith(where), `"${err.message}" starts with "${where}"`);
    assert.match(err.message, problem);
    return true;
  });
}

describe('loadBenchmark: JSONL', () => {
  it('reads the demo GSM dev set with stable ids and gold answers', async () => {
    const items = await loadBenchmark(path.join(demoData, 'gsm_dev.jsonl'));
    assert.equal(items.length, 100);
    assert.deepEqual(items[0], {
      id: 'gsm_dev.jsonl:1',
      question:
        'Eli has 4 green stickers and 24 yellow stickers. He buys 2 jars with 9 stickers in each jar. He gives 20 stickers to a friend. How many stickers does Eli have now?',
      solution: '4+24=28. 2*9=18. 28+18=46. 46-20=26.\n#### 26',
      gold: '26',
      kind: 'gsm8k',
    });
    assert.equal(items[99].id, 'gsm_dev.jsonl:100');
  });

  it('reads the demo MATH dev set with level and type, kind boxed', async () => {
    const items = await loadBenchmark(path.join(demoData, 'math_dev.jsonl'));
    assert.equal(items.length, 60);
    assert.deepEqual(items[0], {
      id: 'math_dev.jsonl:1',
      question: 'Compute $48 + 20 \\div 2$.',
      solution: '20/2=10. 48+10=58. \\boxed{58}',
      gold: '58',
      kind: 'boxed',
      level: 'Level 3',
      type: 'Prealgebra',
    });
    assert.equal(new Set(items.map((i) => i.type)).size, 6);
  });

  it('keeps the first `limit` items in file order', async () => {
    const items = await loadBenchmark(path.join(demoData, 'gsm_test.jsonl'), 'gsm8k', { limit: 3 });
    assert.deepEqual(
      items.map((i) => i.id),
      ['gsm_test.jsonl:1', 'gsm_test.jsonl:2', 'gsm_test.jsonl:3'],
    );
    await assert.rejects(loadBenchmark(path.join(demoData, 'gsm_test.jsonl'), undefined, { limit: 0 }), RangeError);
  });

  it('numbers ids by line, skipping blank lines, CRLF and a BOM', async () => {
    const p = file('blank.jsonl', '\uFEFF{"question":"q1","answer":"#### 1"}\r\n\r\n  \r\n{"question":"q2","answer":"#### 1,000"}\r\n');
    const items = await loadBenchmark(p);
    assert.deepEqual(
      items.map((i) => [i.id, i.gold]),
      [
        ['blank.jsonl:1', '1'],
        ['blank.jsonl:4', '1000'],
      ],
    );
  });

  it('accepts a bare number as a GSM answer (GSM-style sets without worked solutions)', async () => {
    const items = await loadBenchmark(file('bare.jsonl', jsonl({ question: 'q', answer: 72 }, { question: 'q', answer: '1,234' })));
    assert.deepEqual(
      items.map((i) => i.gold),
      ['72', '1234'],
    );
  });

  it('takes the last box of a MATH solution as gold, and the kind from the fields', async () => {
    const p = file('m.jsonl', jsonl({ problem: 'p', solution: 'first \\boxed{1}, finally $\\boxed{\\frac{1}{2}}$.' }));
    const [item] = await loadBenchmark(p);
    assert.equal(item.kind, 'boxed');
    assert.equal(item.gold, '\\frac{1}{2}');
    assert.equal(item.level, undefined);
  });

  it('uses the kind it is given over the one the fields suggest', async () => {
    const p = file('gsm-boxed.jsonl', jsonl({ question: 'q', answer: 'so \\boxed{7}' }));
    const [item] = await loadBenchmark(p, 'boxed');
    assert.deepEqual([item.kind, item.gold], ['boxed', '7']);
  });
});

describe('loadBenchmark: bad JSONL', () => {
  it('rejects a missing file', async () => {
    const p = path.join(tmp, 'nope.jsonl');
    await rejectsWith(loadBenchmark(p), `${p}: `, /cannot be read: no such file/);
  });

  it('rejects an empty file and one of blank lines', async () => {
    const p = file('empty.jsonl', '');
    await rejectsWith(loadBenchmark(p), `${p}: `, /is empty/);
    const q = file('blank-only.jsonl', '\n  \n\n');
    await rejectsWith(loadBenchmark(q), `${q}: `, /is empty/);
  });

  it('names file:line of a line that is not JSON', async () => {
    const p = file('bad.jsonl', '{"question":"q","answer":"#### 1"}\n{"question": "q", "answer": \n');
    await rejectsWith(loadBenchmark(p), `${p}:2: `, /not valid JSON/);
  });

  it('names a line that is JSON but not an object', async () => {
    const p = file('array.jsonl', '{"question":"q","answer":"#### 1"}\n[1, 2]\n');
    await rejectsWith(loadBenchmark(p), `${p}:2: `, /expected a JSON object, found an array/);
  });

  it('hints at a JSON array given as JSONL', async () => {
    const p = file('array.json', '[\n{"question":"q","answer":"#### 1"}\n]\n');
    await rejectsWith(loadBenchmark(p), `${p}:1: `, /JSONL has one object per line/);
  });

  it('names a missing field, a null, a wrong type and an empty text', async () => {
    const gsm = { question: 'q', answer: '#### 1' };
    const cases: [unknown, RegExp][] = [
      [{ question: 'q' }, /missing field "answer"/],
      [{ question: 'q', answer: null }, /field "answer" is null/],
      [{ question: 3, answer: '#### 1' }, /field "question" is a number, not a string/],
      [{ question: 'q', answer: { text: '#### 1' } }, /field "answer" is an object, not a string/],
      [{ question: '  ', answer: '#### 1' }, /field "question" is empty/],
    ];
    for (const [row, problem] of cases) {
      const p = file('fields.jsonl', jsonl(gsm, gsm, row));
      await rejectsWith(loadBenchmark(p), `${p}:3: `, problem);
    }
  });

  it('names a solution without a final answer', async () => {
    const p = file('noanswer.jsonl', jsonl({ question: 'q', answer: 'we add 2 and 3' }));
    await rejectsWith(loadBenchmark(p), `${p}:1: `, /field "answer" has no final answer "#### <number>"/);
    const q = file('nobox.jsonl', jsonl({ problem: 'p', solution: 'it is 5', level: 'Level 1', type: 'Algebra' }));
    await rejectsWith(loadBenchmark(q), `${q}:1: `, /field "solution" has no final answer \\boxed\{\.\.\.\}/);
  });

  it('names the fields of a record that is neither GSM8k nor MATH', async () => {
    const p = file('other.jsonl', jsonl({ text: 'a', label: 1 }));
    await rejectsWith(loadBenchmark(p), `${p}:1: `, /neither GSM8k fields .* nor MATH fields .*; its fields: "text", "label"/);
  });

  it('checks every line against the first line\'s layout', async () => {
    const p = file('mixed.jsonl', jsonl({ question: 'q', answer: '#### 1' }, { problem: 'p', solution: '\\boxed{1}' }));
    await rejectsWith(loadBenchmark(p), `${p}:2: `, /missing field "question"/);
  });
});

describe('loadBenchmark: parquet', () => {
  it('reads GSM8k columns over several row groups, with row ids', async () => {
    const items = await loadBenchmark(path.join(fixtures, 'gsm_mini.parquet'));
    assert.deepEqual(
      items.map((i) => [i.id, i.gold, i.kind]),
      [
        ['gsm_mini.parquet:0', '28', 'gsm8k'],
        ['gsm_mini.parquet:1', '2400', 'gsm8k'],
        ['gsm_mini.parquet:2', '-2', 'gsm8k'],
        ['gsm_mini.parquet:3', '4.5', 'gsm8k'],
        ['gsm_mini.parquet:4', '12', 'gsm8k'],
      ],
    );
    assert.match(items[1].question, /^A shop sells 1,200 pens/);
    assert.equal(items[0].solution, '4+24=<<4+24=28>>28.\n#### 28');
  });

  it('reads only the first rows with a limit', async () => {
    const items = await loadBenchmark(path.join(fixtures, 'gsm_mini.parquet'), undefined, { limit: 3 });
    assert.deepEqual(
      items.map((i) => i.id),
      ['gsm_mini.parquet:0', 'gsm_mini.parquet:1', 'gsm_mini.parquet:2'],
    );
  });

  it('reads MATH columns (gzip-compressed) with level and type', async () => {
    const items = await loadBenchmark(path.join(fixtures, 'math_mini.parquet'));
    assert.deepEqual(
      items.map((i) => [i.gold, i.kind, i.level, i.type]),
      [
        ['\\frac{3}{4}', 'boxed', 'Level 1', 'Prealgebra'],
        ['-2, 2', 'boxed', 'Level 2', 'Algebra'],
        ['90^\\circ', 'boxed', 'Level 1', 'Geometry'],
        ['\\{1,2,3\\}', 'boxed', 'Level 3', 'Counting & Probability'],
      ],
    );
  });

  it('reads MATH-500 style columns: subject for type, an integer level, \\fbox', async () => {
    const items = await loadBenchmark(path.join(fixtures, 'math500_mini.parquet'));
    assert.deepEqual(
      items.map((i) => [i.gold, i.level, i.type]),
      [
        ['5', 'Level 1', 'Prealgebra'],
        ['\\dfrac{5}{2}', 'Level 2', 'Algebra'],
      ],
    );
  });

  it('names the columns of a parquet file without the expected ones', async () => {
    const p = path.join(fixtures, 'wrong_columns.parquet');
    await rejectsWith(loadBenchmark(p), `${p}: `, /neither GSM8k columns .* nor MATH columns .*; its columns: "text", "label"/);
  });

  it('names the row of a null answer', async () => {
    const p = path.join(fixtures, 'gsm_null_answer.parquet');
    await rejectsWith(loadBenchmark(p), `${p} (row 1): `, /field "answer" is null/);
  });

  it('rejects a parquet file with no rows', async () => {
    const p = path.join(fixtures, 'gsm_empty.parquet');
    await rejectsWith(loadBenchmark(p), `${p}: `, /is empty: no rows/);
  });

  it('says which compression it cannot read', async () => {
    const p = path.join(fixtures, 'gsm_lz4.parquet');
    await rejectsWith(loadBenchmark(p), `${p}: `, /is compressed with LZ4\w*, which this reader cannot decompress/);
  });

  it('rejects a .parquet file that is not parquet', async () => {
    const p = file('fake.parquet', '{"question":"q","answer":"#### 1"}\n');
    await rejectsWith(loadBenchmark(p), `${p}: `, /is not a readable parquet file/);
  });

  it('recognises parquet by its magic bytes whatever the file is called', async () => {
    const p = file('gsm-mini.data', readFileSync(path.join(fixtures, 'gsm_mini.parquet')));
    assert.equal((await loadBenchmark(p)).length, 5);
  });
});
