import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { RunStore } from '../../src/core/store/runStore';

const git = (cwd: string, ...args: string[]) => execFileSync('git', args, { cwd, encoding: 'utf8' }).trim();
const tmp = (label: string) => mkdtempSync(path.join(os.tmpdir(), `selfdev-store-${label}-`));

/** Everything a user would notice in their checkout. */
function snapshot(repo: string) {
  return {
    branch: git(repo, 'rev-parse', '--abbrev-ref', 'HEAD'),
    head: git(repo, 'rev-parse', 'HEAD'),
    status: git(repo, 'status', '--porcelain', '--untracked-files=all'),
    diff: git(repo, 'diff'),
    staged: git(repo, 'diff', '--cached'),
    branches: git(repo, 'branch', '--list', '--format=%(refname:short)').split('\n').filter((b) => !b.startsWith('selfdev/')),
    file: readFileSync(path.join(repo, 'notes.txt'), 'utf8'),
  };
}

describe('run store', () => {
  it('gives a folder outside any repository a bare repository of its own', async () => {
    const runs = tmp('plain');
    const store = await RunStore.open(runs);
    assert.equal(store.repo, path.join(runs, 'runs.git'));
    const run = await store.create('r1', { 'run.json': '{"id":"r1"}\n' }, 'create run r1');
    assert.equal(run.dir, path.join(runs, 'r1'));
    assert.equal(git(run.dir, 'rev-parse', '--abbrev-ref', 'HEAD'), 'selfdev/r1');
    assert.deepEqual((await run.log()).map((c) => c.message), ['create run r1', 'selfdev: start run r1']);
    await run.appendLine('iterations/01/results.jsonl', '{"a":1}');
    await run.appendLine('iterations/01/results.jsonl', '{"a":2}');
    assert.ok(await run.commit('iteration 1 results'));
    assert.equal(await run.commit('nothing new'), undefined);
    await run.tag('iteration-01', 'iteration 1');
    await run.tag('iteration-01', 'again: no error');
    assert.deepEqual(await run.tags(), ['selfdev/r1/iteration-01']);
    assert.equal(await run.read('iterations/01/results.jsonl'), '{"a":1}\n{"a":2}\n');
    assert.deepEqual(await store.list(), ['r1']);
    await assert.rejects(store.create('r1', {}, 'again'), /a run named "r1" already exists/);
    await assert.rejects(store.create('../evil', {}, 'x'), /not a usable run id/);
    assert.throws(() => run.path('../outside'), /outside the run/);
  });

  it("never changes the user's branch, index or working tree, uncommitted changes included", async () => {
    const repo = tmp('user');
    git(repo, 'init', '--quiet', '--initial-branch=work');
    git(repo, 'config', 'user.email', 'user@example.com');
    git(repo, 'config', 'user.name', 'User');
    writeFileSync(path.join(repo, 'notes.txt'), 'one\n');
    writeFileSync(path.join(repo, 'staged.txt'), 'a\n');
    git(repo, 'add', '.');
    git(repo, 'commit', '--quiet', '-m', 'user work');
    writeFileSync(path.join(repo, 'notes.txt'), 'one\ntwo (not committed)\n');
    writeFileSync(path.join(repo, 'staged.txt'), 'a\nb (staged)\n');
    git(repo, 'add', 'staged.txt');
    writeFileSync(path.join(repo, 'untracked.txt'), 'u\n');
    const before = snapshot(repo);

    const store = await RunStore.open(path.join(repo, '.selfdev', 'runs'), repo);
    assert.equal(store.repo, repo);
    const [a, b] = await Promise.all([
      store.create('a', { 'run.json': '{"id":"a"}' }, 'create a'),
      store.create('b', { 'run.json': '{"id":"b"}' }, 'create b'),
    ]);
    await Promise.all([a.write('x.txt', 'x'), b.write('y.txt', 'y')]);
    await Promise.all([a.commit('a: step'), b.commit('b: step')]);
    await a.tag('iteration-01', 'done');

    assert.deepEqual(snapshot(repo), before);
    assert.equal(git(repo, 'log', '--format=%s', 'selfdev/a'), 'a: step\ncreate a\nselfdev: start run a');
    assert.deepEqual((await store.list()).sort(), ['a', 'b']);
    // Run commits do not share history with the user's branch.
    assert.throws(() => git(repo, 'merge-base', 'work', 'selfdev/a'));
  });

  it('checks a run out again when its worktree was deleted', async () => {
    const runs = tmp('restore');
    const store = await RunStore.open(runs);
    const run = await store.create('r', { 'run.json': '{}' }, 'create');
    rmSync(run.dir, { recursive: true, force: true });
    const again = await store.open('r');
    assert.ok(existsSync(path.join(again.dir, 'run.json')));
    await assert.rejects(store.open('nope'), /no run named "nope"/);
  });
});
