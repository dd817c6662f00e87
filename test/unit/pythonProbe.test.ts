import * as assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { interpreterExecutable, probePython, pythonProblems, type PythonReport } from '../../src/engine/pythonProbe';

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

describe('interpreterExecutable', () => {
  it('resolves a shim to the interpreter behind it once, and leaves a name it cannot run as it is', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'selfdev-shim-'));
    const real = (await probePython(PYTHON)).executable;
    // A shim like pyenv's: a script that finds the interpreter and execs it (here, counting calls).
    const shim = path.join(dir, 'python3');
    writeFileSync(shim, `#!/bin/sh\necho x >> ${dir}/calls\nexec ${real} "$@"\n`);
    chmodSync(shim, 0o755);
    assert.equal(await interpreterExecutable(shim), real);
    assert.equal(await interpreterExecutable(shim), real);
    assert.equal(readFileSync(path.join(dir, 'calls'), 'utf8'), 'x\n', 'asked once');
    assert.equal(await interpreterExecutable('/nonexistent/python3'), '/nonexistent/python3');
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
