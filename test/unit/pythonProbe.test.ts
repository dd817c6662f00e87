import * as assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { probePython, pythonProblems, type PythonReport } from '../../src/engine/pythonProbe';

const PYTHON = process.env.SELFDEV_PYTHON ?? 'python3';

describe('probePython', () => {
  it('reports the version and numpy of a real interpreter', async () => {
    const report = await probePython(PYTHON);
    assert.match(report.version, /^3\.\d+\.\d+/);
    assert.ok(report.numpy, 'the test interpreter has numpy');
    assert.deepEqual(pythonProblems(report), []);
  });

  it('says when the interpreter cannot be run', async () => {
    await assert.rejects(probePython('/nonexistent/python3'), /cannot be run: no such program/);
  });

  it('says when the program is not a Python that answers', async () => {
    await assert.rejects(probePython('false'), /cannot be run/);
  });
});

describe('pythonProblems', () => {
  const base: PythonReport = { interpreter: 'py', executable: '/py', version: '3.11.7', numpy: '1.26.4', torch: null, cuda: false };
  it('asks for numpy always and torch only for torch runs', () => {
    assert.deepEqual(pythonProblems(base), []);
    assert.match(pythonProblems({ ...base, numpy: null }).join(), /numpy is missing: install it with "py -m pip install numpy"/);
    assert.match(pythonProblems(base, 'torch').join(), /torch is missing/);
  });
  it('refuses old Pythons', () => {
    assert.match(pythonProblems({ ...base, version: '3.8.10' }).join(), /too old/);
    assert.deepEqual(pythonProblems({ ...base, version: '3.10.0' }), []);
  });
});
