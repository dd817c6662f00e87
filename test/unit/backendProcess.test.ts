import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { queryBackendCapabilities } from '../../src/backend/localProcess';
import { repoRoot } from '../harness/paths';

describe('local backend process', () => {
  it('starts out/backend.js and reports onnxruntime with the CPU provider', async () => {
    const caps = await queryBackendCapabilities(path.join(repoRoot, 'out', 'backend.js'));
    assert.ok(!('error' in caps.onnxruntime), JSON.stringify(caps.onnxruntime));
    assert.equal(caps.onnxruntime.version, '1.30.0');
    assert.ok(caps.onnxruntime.executionProviders.includes('cpu'));
    assert.equal(caps.node, process.versions.node);
  });

  it('reports a backend that does not start', async () => {
    await assert.rejects(queryBackendCapabilities(path.join(repoRoot, 'out', 'no-such-backend.js')), /The local backend did not start/);
  });
});
