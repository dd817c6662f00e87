// One command for every test tier: unit (node's test runner), python (pytest), integration
// (mocha inside a real VS Code) and e2e (the packaged .vsix in code-server, driven by Chromium).
// Usage: node scripts/test-all.mjs [unit] [python] [integration] [e2e]   (default: all)
// Ends with one line "N passed, N failed[, N skipped]"; exits non-zero if anything failed or a
// tier could not run. A tier never passes by skipping.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import * as path from 'node:path';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const outDir = path.join(root, 'test-output');
const python = process.env.SELFDEV_PYTHON ?? 'python3';
const ALL = ['unit', 'python', 'integration', 'e2e'];
const asked = process.argv.slice(2);
const tiers = asked.length ? asked : ALL;
for (const t of tiers) {
  if (!ALL.includes(t)) {
    console.error(`test-all: unknown tier "${t}"; tiers: ${ALL.join(', ')}`);
    process.exit(2);
  }
}
mkdirSync(outDir, { recursive: true });

function run(cmd, args, env = {}) {
  console.log(`\n$ ${[cmd, ...args].join(' ')}`);
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit', env: { ...process.env, ...env } });
  return r.status ?? 1;
}

function tapCounts(file) {
  const text = existsSync(file) ? readFileSync(file, 'utf8') : '';
  const count = (k) => Number(new RegExp(`^# ${k} (\\d+)$`, 'm').exec(text)?.[1] ?? NaN);
  return { passed: count('pass'), failed: count('fail') + (count('cancelled') || 0), skipped: (count('skipped') || 0) + (count('todo') || 0) };
}

function nodeTests(dir, name) {
  const tap = path.join(outDir, `${name}.tap`);
  rmSync(tap, { force: true });
  const code = run(process.execPath, [
    '--test', '--test-concurrency=1',
    '--test-reporter=spec', '--test-reporter-destination=stdout',
    '--test-reporter=tap', `--test-reporter-destination=${tap}`,
    path.join('out', 'test', dir),
  ]);
  return { code, ...tapCounts(tap) };
}

function junitCounts(file) {
  const text = existsSync(file) ? readFileSync(file, 'utf8') : '';
  const suite = /<testsuite\b[^>]*>/.exec(text)?.[0] ?? '';
  const attr = (k) => Number(new RegExp(`\\b${k}="(\\d+)"`).exec(suite)?.[1] ?? NaN);
  const total = attr('tests');
  const failed = attr('failures') + attr('errors');
  const skipped = attr('skipped');
  return { passed: total - failed - skipped, failed, skipped };
}

const tierRunners = {
  unit: () => nodeTests('unit', 'unit'),
  python: () => {
    const xml = path.join(outDir, 'python.xml');
    rmSync(xml, { force: true });
    const code = run(python, ['-m', 'pytest', 'test/python', '-q', '-p', 'no:cacheprovider', `--junitxml=${xml}`], {
      HF_HUB_OFFLINE: '1',
      TRANSFORMERS_OFFLINE: '1',
    });
    if (code === 5) {
      console.error('python: pytest collected no tests');
      return { code, passed: 0, failed: 1, skipped: 0 };
    }
    return { code, ...junitCounts(xml) };
  },
  integration: () => {
    const file = path.join(outDir, 'integration.json');
    rmSync(file, { force: true });
    const code = run(process.execPath, [path.join('out', 'test', 'harness', 'runIntegration.js')], { SELFDEV_TIER_RESULTS: file });
    const r = existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) : { passed: NaN, failed: NaN, skipped: 0 };
    return { code, ...r };
  },
  e2e: () => {
    const packaged = run(process.execPath, [path.join('scripts', 'package.mjs')]);
    if (packaged !== 0) return { code: packaged, passed: 0, failed: 1, skipped: 0 };
    return nodeTests('e2e', 'e2e');
  },
};

// Build once: the bundles the tests load, the compiled tests, then types and lint.
const prep = [
  ['build', process.execPath, ['esbuild.mjs']],
  ['compile tests', 'npx', ['tsc', '-p', 'test']],
  ['typecheck', 'npm', ['run', '--silent', 'typecheck']],
  ['lint', 'npm', ['run', '--silent', 'lint']],
];
const results = [];
for (const [name, cmd, args] of prep) {
  const code = run(cmd, args);
  if (code !== 0) results.push({ tier: name, code, passed: 0, failed: 1, skipped: 0 });
}
if (results.length === 0 || results.every((r) => r.tier === 'lint' || r.tier === 'typecheck')) {
  for (const tier of tiers) {
    const started = Date.now();
    const r = tierRunners[tier]();
    results.push({ tier, ...r, seconds: Math.round((Date.now() - started) / 1000) });
  }
}

let passed = 0;
let failed = 0;
let skipped = 0;
console.log('\ntier          result');
for (const r of results) {
  const counted = Number.isFinite(r.passed) && Number.isFinite(r.failed);
  // A tier that exited non-zero without counting a failure still fails.
  const f = (counted ? r.failed : 0) + (r.code !== 0 && (!counted || r.failed === 0) ? 1 : 0);
  passed += counted ? r.passed : 0;
  failed += f;
  skipped += r.skipped || 0;
  const detail = counted ? `${r.passed} passed, ${r.failed} failed` : 'did not report counts';
  console.log(`${r.tier.padEnd(13)} ${r.code === 0 && f === 0 ? 'ok  ' : 'FAIL'} ${detail}${r.seconds !== undefined ? ` (${r.seconds}s)` : ''}`);
}
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exitCode = failed > 0 ? 1 : 0;
