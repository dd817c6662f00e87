import * as assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { describe, it } from 'node:test';
import { readRunConfig } from '../../src/core/config/runConfig';
import { COMMAND_IDS } from '../../src/vscode/commandIds';
import { packageJson, repoRoot } from '../harness/paths';

interface Contributes {
  commands: { command: string; title: string; category: string }[];
  menus: Record<string, { command: string }[]>;
  viewsWelcome: { view: string; contents: string }[];
  views: Record<string, { id: string }[]>;
  viewsContainers: { activitybar: { id: string; icon: string }[] };
  configuration: { properties: Record<string, unknown> };
}

const pkg = packageJson() as ReturnType<typeof packageJson> & Record<string, unknown>;
const contributes = pkg.contributes as unknown as Contributes;
const contributed = contributes.commands.map((c) => c.command);

describe('package.json', () => {
  it('contributes the same commands that the extension registers', () => {
    assert.deepEqual([...contributed].sort(), [...COMMAND_IDS].sort());
    assert.equal(new Set(contributed).size, contributed.length, 'duplicate command ids');
  });

  it('puts every command in the Self-Developing category with a title', () => {
    for (const c of contributes.commands) {
      assert.equal(c.category, 'Self-Developing', c.command);
      assert.ok(c.title.length > 3, c.command);
    }
  });

  it('names only contributed commands in menus and welcome buttons', () => {
    const known = new Set(contributed);
    for (const [menu, entries] of Object.entries(contributes.menus)) {
      for (const e of entries) assert.ok(known.has(e.command), `${menu} names unknown ${e.command}`);
    }
    const buttons = contributes.viewsWelcome.flatMap((w) => [...w.contents.matchAll(/\(command:([\w.]+)\)/g)].map((m) => m[1]));
    assert.deepEqual(buttons.sort(), ['selfdev.newRun', 'selfdev.openBundle', 'selfdev.startDemo']);
  });

  it('has a welcome view for the Runs tree in the Self-Developing container', () => {
    const container = contributes.viewsContainers.activitybar.find((c) => c.id === 'selfdev');
    assert.ok(container && existsSync(path.join(repoRoot, container.icon)));
    assert.deepEqual(contributes.views.selfdev.map((v) => v.id), ['selfdev.runs']);
    assert.ok(contributes.viewsWelcome.some((w) => w.view === 'selfdev.runs'));
  });

  it('targets the VS Code it is tested against, as a workspace extension activated on use', () => {
    assert.equal((pkg.engines as Record<string, string>).vscode, '^1.100.0');
    const types = (pkg.devDependencies as Record<string, string>)['@types/vscode'];
    assert.ok(/^\D*1\.(\d+)/.exec(types) && Number(/^\D*1\.(\d+)/.exec(types)![1]) <= 100, '@types/vscode must not be newer than engines.vscode');
    assert.deepEqual(pkg.extensionKind, ['workspace']);
    // Views and commands activate it implicitly; a results panel restored after a reload needs this one.
    assert.deepEqual(pkg.activationEvents, ['onWebviewPanel:selfdev.results']);
  });

  it('declares the settings the code reads', () => {
    const source = readFileSync(path.join(repoRoot, 'src', 'vscode', 'settings.ts'), 'utf8');
    const read = [...source.matchAll(/get<[^>]+>\('([\w.]+)'/g)].map((m) => `selfdev.${m[1]}`).sort();
    assert.deepEqual(read, Object.keys(contributes.configuration.properties).sort());
  });

  it('depends on the packages the design requires', () => {
    const all = { ...(pkg.dependencies as object), ...(pkg.devDependencies as object) };
    for (const name of ['@types/vscode', '@vscode/webview-ui-toolkit', 'onnxruntime-node', 'simple-git', 'esbuild', '@vscode/test-electron']) {
      assert.ok(name in all, name);
    }
  });
});

describe('the .vsix', () => {
  it('ships every file the demo run needs: models, benchmarks, prompts, the runner and the helper library', async () => {
    // vsce itself lists what it would package (the allowlist of .vscodeignore).
    const shipped = new Set(execFileSync(process.execPath, [path.join(repoRoot, 'node_modules', '@vscode', 'vsce', 'vsce'), 'ls'], { cwd: repoRoot, encoding: 'utf8' }).trim().split('\n'));
    const demo = await readRunConfig(path.join(repoRoot, 'resources', 'demo', 'demo.run.json'));
    const files = (p: string): string[] => (statSync(p).isDirectory() ? readdirSync(p).flatMap((f) => files(path.join(p, f))) : [p]);
    const f = demo.factory;
    assert.equal(f.kind, 'llm');
    const needed = [
      ...[demo.seed, ...demo.candidates, ...Object.values(demo.transfer).flat()].flatMap(files),
      ...Object.values(demo.benchmarks).flatMap((b) => [b.dev, b.test, b.fewshot].filter((x): x is string => x !== undefined)),
      ...(f.kind === 'llm' && f.generator.kind === 'engine' && f.generator.model !== 'seed' ? files(f.generator.model) : []),
      ...(f.kind === 'llm' ? [f.prompt!, f.workedExample!] : []),
      path.join(repoRoot, 'resources', 'prompts', 'paper.md'),
      path.join(repoRoot, 'resources', 'python', 'selfdev_merge.py'),
      // The DPO trainer of the LLM factory, and what it needs installed.
      path.join(repoRoot, 'resources', 'python', 'selfdev_dpo.py'),
      ...files(path.join(repoRoot, 'resources', 'python', 'selfdev_training')).filter((f) => f.endsWith('.py')),
      path.join(repoRoot, 'resources', 'python', 'requirements-llm.txt'),
      path.join(repoRoot, 'resources', 'algorithms', 'worked_example.py'),
    ].map((p) => path.relative(repoRoot, p).split(path.sep).join('/'));
    assert.deepEqual(needed.filter((p) => !shipped.has(p)), []);
  });
});
