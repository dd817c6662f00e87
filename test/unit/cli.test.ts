import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { packageJson, repoRoot } from '../harness/paths';
import { writeDemoConfig } from '../harness/smallConfig';
import { parseSize } from '../../src/cli/exportCommands';

// The built CLI (out/cli.js), run as users run it.
function selfdev(...args: string[]) {
  return selfdevWith({}, ...args);
}

function selfdevWith(env: NodeJS.ProcessEnv, ...args: string[]) {
  const r = spawnSync(process.execPath, [path.join(repoRoot, 'out', 'cli.js'), ...args], { encoding: 'utf8', timeout: 60_000, env: { ...process.env, ...env } });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

/** Run from a temporary folder: from a repository the run store would put the runs' branches there. */
function selfdevIn(dir: string, ...args: string[]) {
  const r = spawnSync(process.execPath, [path.join(repoRoot, 'out', 'cli.js'), ...args], { cwd: dir, encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

describe('selfdev CLI', () => {
  it('prints its version', () => {
    const { version } = packageJson();
    assert.deepEqual(selfdev('--version'), { code: 0, out: `${version}\n`, err: '' });
  });

  it('exits 2 with usage for no or unknown commands', () => {
    assert.equal(selfdev().code, 2);
    const r = selfdev('frobnicate');
    assert.equal(r.code, 2);
    assert.match(r.err, /unknown command "frobnicate"/);
    assert.match(r.err, /usage: selfdev/);
  });

  it('names the field of a bad run config and the run that does not exist', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'selfdev-cli-'));
    const config = path.join(dir, 'bad.selfdev.json');
    writeFileSync(config, JSON.stringify({ seed: 'm', candidates: [], benchmarks: { gsm: { dev: 'd.jsonl' } } }));
    const bad = selfdev('new', config, '--runs', path.join(dir, 'runs'));
    assert.equal(bad.code, 1);
    assert.match(bad.err, /bad\.selfdev\.json:\d+:\d+: candidates: expected a list of at least 1 model folder/);
    const missing = selfdev('status', 'nope', '--runs', path.join(dir, 'runs'));
    assert.equal(missing.code, 1);
    assert.match(missing.err, /no run named "nope"/);
    assert.equal(selfdev('iterate', '--runs', path.join(dir, 'runs')).code, 2);
  });

  it('spreads scoring over the workers --launcher names, shows them in status, and refuses a bad launcher', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'selfdev-cli-launcher-'));
    const config = writeDemoConfig(path.join(dir, 'l.selfdev.json'), path.join(repoRoot, 'resources', 'demo'), { factory: { kind: 'grammar' }, algorithmsPerIteration: 4, iterations: 1 });
    const runs = path.join(dir, 'runs');
    const bad = selfdevIn(dir, 'iterate', 'x', '--runs', runs, '--launcher', 'slurm:partition=gpu');
    assert.equal(bad.code, 2);
    assert.match(bad.err, /--launcher: launcher\.workers: expected the number of workers/);
    assert.match(selfdevIn(dir, 'iterate', 'x', '--runs', runs, '--launcher', 'slurm:workers').err, /expected key=value, got "workers"/);
    assert.match(selfdevIn(dir, 'iterate', 'x', '--runs', runs, '--sbatch-option=--qos=short').err, /--sbatch-option needs --launcher/);
    assert.equal(selfdevIn(dir, 'new', config, '--runs', runs, '--id', 'l').code, 0);
    const it = selfdevIn(dir, 'iterate', 'l', '--runs', runs, '--launcher', 'processes:workers=2,leaseSeconds=10');
    assert.equal(it.code, 0, it.err);
    assert.match(it.err, /workers: 2 processes worker\(s\) for this run/);
    assert.match(it.err, /workers 2 running/);
    assert.match(it.err, /workers released: the iteration ended · 4 done/);
    const status = selfdevIn(dir, 'status', 'l', '--runs', runs);
    assert.match(status.out, /^workers released: the iteration ended · 4 done \(as of .*; processes /m);
  });

  it('creates a run with the factory --factory names, and refuses an unknown one', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'selfdev-cli-factory-'));
    const runs = path.join(dir, 'runs');
    const demo = path.join(repoRoot, 'resources', 'demo', 'demo.run.json');
    // Run from the temporary folder: from a repository the run store would put the runs' branches there.
    const inDir = (...args: string[]) => {
      const r = spawnSync(process.execPath, [path.join(repoRoot, 'out', 'cli.js'), ...args], { cwd: dir, encoding: 'utf8', timeout: 60_000 });
      return { code: r.status, out: r.stdout, err: r.stderr };
    };
    const factoryOf = (id: string) => (JSON.parse(readFileSync(path.join(runs, id, 'run.json'), 'utf8')) as { config: { factory: { kind: string; generator?: { model: string } } } }).config.factory;
    assert.equal(inDir('new', demo, '--runs', runs, '--id', 'as-configured').code, 0);
    assert.equal(factoryOf('as-configured').kind, 'llm');
    assert.match(factoryOf('as-configured').generator!.model, /models[\\/]writer$/);
    assert.equal(inDir('new', demo, '--runs', runs, '--id', 'grammar', '--factory', 'grammar').code, 0);
    assert.deepEqual(factoryOf('grammar'), { kind: 'grammar' });
    const small = path.join(dir, 'small.selfdev.json');
    writeFileSync(small, JSON.stringify({ seed: path.join(repoRoot, 'resources', 'demo', 'models', 'seed'), candidates: [path.join(repoRoot, 'resources', 'demo', 'models', 'cand-sub')], benchmarks: { gsm: { dev: 'd.jsonl' } } }));
    assert.equal(inDir('new', small, '--runs', runs, '--id', 'llm', '--factory', 'llm').code, 0);
    assert.deepEqual(factoryOf('llm').generator, { kind: 'engine', model: 'seed', chat: 'auto' });
    // Two runs of one config in the same second get distinct ids.
    const [a, b] = [inDir('new', small, '--runs', runs), inDir('new', small, '--runs', runs)];
    assert.deepEqual([a.code, b.code], [0, 0], a.err + b.err);
    assert.notEqual(a.out.trim(), b.out.trim());
    const bad = inDir('new', demo, '--runs', runs, '--factory', 'gpt');
    assert.equal(bad.code, 2);
    assert.match(bad.err, /--factory expects grammar or llm/);
  });

  it('doctor loads onnxruntime and checks Python', () => {
    const r = selfdev('doctor', '--json', '--python', process.env.SELFDEV_PYTHON ?? 'python3');
    assert.equal(r.code, 0, r.err);
    const report = JSON.parse(r.out);
    assert.equal(report.backend.onnxruntime.version, '1.30.0');
    assert.ok(report.backend.onnxruntime.executionProviders.includes('cpu'));
    assert.ok(report.python.numpy);
    assert.equal(report.isolation.available, true);
    assert.deepEqual(report.problems, []);
    const text = selfdev('doctor', '--python', process.env.SELFDEV_PYTHON ?? 'python3');
    assert.match(text.out, /isolation of generated code: kernel \(bubblewrap \d+\.\d+\.\d+ namespaces, uid 65534, seccomp/);
  });

  it('doctor names missing kernel isolation as a problem, with the fix and the opt-out', () => {
    const r = selfdevWith({ SELFDEV_BWRAP: '/nonexistent/bwrap' }, 'doctor', '--python', process.env.SELFDEV_PYTHON ?? 'python3');
    assert.equal(r.code, 1);
    assert.match(r.out, /isolation of generated code: NOT AVAILABLE: bubblewrap \(bwrap\) is not installed/);
    assert.match(r.err, /problem: kernel isolation of generated code is not available: .*apt-get install bubblewrap.*--allow-unisolated/);
  });

  it('doctor fails, naming the problem, for a Python that cannot run', () => {
    const r = selfdev('doctor', '--python', '/nonexistent/python3');
    assert.equal(r.code, 1);
    assert.match(r.err, /problem: Python interpreter "\/nonexistent\/python3" cannot be run/);
  });
});

describe('selfdev export options', () => {
  it('reads shard sizes the way transformers writes max_shard_size', () => {
    assert.equal(parseSize('5GB'), 5e9);
    assert.equal(parseSize('500MB'), 5e8);
    assert.equal(parseSize('2.5GiB'), 2.5 * 2 ** 30);
    assert.equal(parseSize(' 30mb '), 3e7);
    assert.equal(parseSize('1000000'), 1e6);
    for (const bad of ['', 'GB', '5 GBs', '-1GB', '0', '0.1B', '5e9']) assert.throws(() => parseSize(bad), /--max-shard-size/, bad);
  });

  it('says how to call export, report and import', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'selfdev-cli-export-'));
    for (const [args, usage] of [
      [['export'], /usage: selfdev export model <run> <iteration\/algorithm\|best> --out <folder>/],
      [['export', 'model', 'r', 'best'], /usage: selfdev export model/],
      [['export', 'bundle', 'r'], /usage: selfdev export bundle <run> --out <folder>/],
      [['report', 'r'], /usage: selfdev report <run> --out <folder>/],
      [['import'], /usage: selfdev import <bundle file or folder>/],
      [['export', 'model', 'r', 'best', '--out', 'o', '--max-shard-size', 'big'], /--max-shard-size: expected a size/],
    ] as const) {
      const r = spawnSync(process.execPath, [path.join(repoRoot, 'out', 'cli.js'), ...args, '--runs', path.join(dir, 'runs')], { encoding: 'utf8', cwd: dir });
      assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, usage, args.join(' '));
    }
  });
});
