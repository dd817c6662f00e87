import * as assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
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
    assert.deepEqual(buttons.sort(), ['selfdev.newRun', 'selfdev.startDemo']);
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
