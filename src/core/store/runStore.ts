// Runs as git branches `selfdev/<run-id>`, each checked out in its own worktree under the runs
// folder. The user's checkout (branch, index, working tree) is never touched: run branches
// start from an empty root commit, and everything happens inside the run's worktree. A folder
// that is not in a git repository gets a bare repository of its own (`<runs>/runs.git`).
import { randomUUID } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { simpleGit, type SimpleGit } from 'simple-git';

export const RUN_BRANCH_PREFIX = 'selfdev/';
const FALLBACK_IDENTITY = { name: 'Self-Developing', email: 'selfdev@localhost' };

export class RunStoreError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RunStoreError';
  }
}

const RUN_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** Git with an identity to commit as: the user's when configured, else the extension's. */
async function gitFor(dir: string): Promise<SimpleGit> {
  const git = simpleGit({ baseDir: dir, trimmed: true });
  const email = await git.raw(['config', '--get', 'user.email']).catch(() => '');
  return email ? git : simpleGit({ baseDir: dir, trimmed: true, config: [`user.name=${FALLBACK_IDENTITY.name}`, `user.email=${FALLBACK_IDENTITY.email}`] });
}

export class RunStore {
  private constructor(
    /** The repository that holds the run branches (the user's, or our bare one). */
    readonly repo: string,
    /** Folder of the run worktrees. */
    readonly runsDir: string,
    private readonly git: SimpleGit,
  ) {}

  /**
   * Opens the store for `runsDir`. `repo` is the git repository that should hold the run
   * branches (usually the workspace's); without one, the store uses its own bare repository.
   */
  static async open(runsDir: string, repo?: string): Promise<RunStore> {
    const dir = path.resolve(runsDir);
    await fs.mkdir(dir, { recursive: true });
    let repoDir = repo && (await topLevel(repo));
    if (!repoDir) {
      repoDir = path.join(dir, 'runs.git');
      if (!(await exists(path.join(repoDir, 'HEAD')))) {
        await fs.mkdir(repoDir, { recursive: true });
        await simpleGit(repoDir).raw(['init', '--bare', '--quiet']);
      }
    } else if (isInside(dir, repoDir)) {
      // Worktrees inside the user's checkout must not show up in its status.
      await excludeFromStatus(repoDir, dir);
    }
    return new RunStore(repoDir, dir, await gitFor(repoDir));
  }

  runDir(id: string): string {
    return path.join(this.runsDir, id);
  }

  /** Creates the branch and worktree of a new run and commits its first files. */
  async create(id: string, files: Record<string, string>, message: string): Promise<Run> {
    if (!RUN_ID.test(id)) throw new RunStoreError(`"${id}" is not a usable run id (letters, digits, . _ -; up to 64)`);
    const branch = RUN_BRANCH_PREFIX + id;
    if (await this.branchExists(branch)) throw new RunStoreError(`a run named "${id}" already exists (branch ${branch} in ${this.repo})`);
    const dir = this.runDir(id);
    if (await exists(dir)) throw new RunStoreError(`${dir} already exists`);
    const emptyTree = await this.emptyTree();
    const root = await this.git.raw(['commit-tree', emptyTree, '-m', `selfdev: start run ${id}`]);
    await this.git.raw(['branch', branch, root]);
    await this.git.raw(['worktree', 'add', '--quiet', dir, branch]);
    const run = await Run.open(id, dir);
    for (const [rel, content] of Object.entries(files)) await run.write(rel, content);
    await run.commit(message);
    return run;
  }

  /** Whether `id` is taken (by a branch or a folder), for choosing a fresh id. */
  async taken(id: string): Promise<boolean> {
    return (await this.branchExists(RUN_BRANCH_PREFIX + id)) || exists(this.runDir(id));
  }

  async open(id: string): Promise<Run> {
    const dir = this.runDir(id);
    if (!(await exists(path.join(dir, '.git')))) {
      if (await this.branchExists(RUN_BRANCH_PREFIX + id)) {
        // The worktree was deleted by hand: check the branch out again, nothing is lost.
        await this.git.raw(['worktree', 'prune']);
        await this.git.raw(['worktree', 'add', '--quiet', dir, RUN_BRANCH_PREFIX + id]);
      } else {
        throw new RunStoreError(`no run named "${id}" in ${this.runsDir}`);
      }
    }
    return Run.open(id, dir);
  }

  /** Ids of all runs (branches), whether or not their worktree exists. */
  async list(): Promise<string[]> {
    const out = await this.git.raw(['for-each-ref', '--format=%(refname:short)', `refs/heads/${RUN_BRANCH_PREFIX}`]);
    return out.split('\n').filter(Boolean).map((b) => b.slice(RUN_BRANCH_PREFIX.length)).sort();
  }

  /**
   * Writes run `id` as a git bundle: its branch and its tags, complete (a run branch starts
   * from an empty root commit, so the bundle needs nothing else to be opened).
   */
  async bundle(id: string, file: string): Promise<{ refs: string[] }> {
    const branch = RUN_BRANCH_PREFIX + id;
    if (!(await this.branchExists(branch))) throw new RunStoreError(`no run named "${id}" in ${this.runsDir}`);
    const tags = (await this.git.raw(['tag', '--list', `${branch}/*`])).split('\n').filter(Boolean);
    const refs = [`refs/heads/${branch}`, ...tags.map((t) => `refs/tags/${t}`)];
    await fs.mkdir(path.dirname(path.resolve(file)), { recursive: true });
    await this.git.raw(['bundle', 'create', '--quiet', path.resolve(file), ...refs]);
    return { refs };
  }

  /**
   * Opens a run bundle made by `bundle`: its branch and tags are fetched into this store's
   * repository and checked out as a worktree. A run of the same id is never replaced.
   */
  async importBundle(file: string): Promise<Run> {
    const bundle = path.resolve(file);
    if (!(await exists(bundle))) throw new RunStoreError(`${bundle} not found`);
    let heads: string;
    try {
      await this.git.raw(['bundle', 'verify', '--quiet', bundle]);
      heads = await this.git.raw(['bundle', 'list-heads', bundle]);
    } catch (err) {
      throw new RunStoreError(`${bundle} is not a usable git bundle: ${(err as Error).message.trim().split('\n')[0]}`);
    }
    const refs = heads.split('\n').filter(Boolean).map((l) => l.split(' ')[1]);
    const branches = refs.filter((r) => r.startsWith(`refs/heads/${RUN_BRANCH_PREFIX}`));
    if (branches.length !== 1) throw new RunStoreError(`${bundle} holds ${branches.length} run branches (refs/heads/${RUN_BRANCH_PREFIX}<id>); a run bundle holds one`);
    const id = branches[0].slice(`refs/heads/${RUN_BRANCH_PREFIX}`.length);
    if (!RUN_ID.test(id)) throw new RunStoreError(`${bundle}: "${id}" is not a usable run id`);
    if (await this.taken(id)) throw new RunStoreError(`a run named "${id}" already exists in ${this.runsDir}; the bundle is not opened over it`);
    const tags = refs.filter((r) => r.startsWith(`refs/tags/${RUN_BRANCH_PREFIX}${id}/`));
    await this.git.raw(['fetch', '--quiet', '--no-tags', bundle, `${branches[0]}:${branches[0]}`, ...tags.map((t) => `${t}:${t}`)]);
    await this.git.raw(['worktree', 'add', '--quiet', this.runDir(id), RUN_BRANCH_PREFIX + id]);
    return Run.open(id, this.runDir(id));
  }

  /** The id of the empty tree in this repository's hash, written so commit-tree can use it. */
  private async emptyTree(): Promise<string> {
    const empty = path.join(this.runsDir, `.empty-${randomUUID()}`);
    await fs.writeFile(empty, '');
    try {
      return await this.git.raw(['hash-object', '-w', '-t', 'tree', empty]);
    } finally {
      await fs.rm(empty, { force: true });
    }
  }

  private async branchExists(branch: string): Promise<boolean> {
    return (await this.git.raw(['branch', '--list', branch])).trim() !== '';
  }
}

let privateWrites = 0;

/** One run's worktree: files, commits, tags. */
export class Run {
  private constructor(
    readonly id: string,
    readonly dir: string,
    private readonly git: SimpleGit,
  ) {}

  static async open(id: string, dir: string): Promise<Run> {
    return new Run(id, dir, await gitFor(dir));
  }

  get branch(): string {
    return RUN_BRANCH_PREFIX + this.id;
  }

  path(rel: string): string {
    const p = path.resolve(this.dir, rel);
    if (!isInside(p, this.dir)) throw new RunStoreError(`${rel} is outside the run`);
    return p;
  }

  /** Writes a file atomically (temp file + rename), so a crash never leaves half a file. */
  async write(rel: string, content: string): Promise<void> {
    const p = this.path(rel);
    await fs.mkdir(path.dirname(p), { recursive: true });
    const tmp = `${p}.tmp-${process.pid}`;
    await fs.writeFile(tmp, content);
    await fs.rename(tmp, p);
  }

  /** The worktree's own git folder: files there are this run's private state, never committed. */
  private async gitDir(): Promise<string> {
    const dotGit = path.join(this.dir, '.git');
    const text = await fs.readFile(dotGit, 'utf8').catch((err: NodeJS.ErrnoException) => (err.code === 'EISDIR' ? undefined : Promise.reject(err)));
    if (text === undefined) return dotGit;
    const m = /^gitdir: (.+)$/m.exec(text);
    if (!m) throw new RunStoreError(`${dotGit} does not name the worktree's git folder`);
    return path.resolve(this.dir, m[1].trim());
  }

  /** Writes live state outside the tracked tree (atomically). */
  async writePrivate(name: string, content: string): Promise<void> {
    const p = path.join(await this.gitDir(), `selfdev-${name}`);
    const tmp = `${p}.tmp-${process.pid}-${++privateWrites}`;
    await fs.writeFile(tmp, content);
    await fs.rename(tmp, p);
  }

  async readPrivate(name: string): Promise<string | undefined> {
    return fs.readFile(path.join(await this.gitDir(), `selfdev-${name}`), 'utf8').catch(() => undefined);
  }

  async read(rel: string): Promise<string | undefined> {
    try {
      return await fs.readFile(this.path(rel), 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  }

  /** Appends one line (a JSON record) and flushes it to disk before returning. */
  async appendLine(rel: string, line: string): Promise<void> {
    const p = this.path(rel);
    await fs.mkdir(path.dirname(p), { recursive: true });
    const h = await fs.open(p, 'a');
    try {
      await h.write(`${line}\n`);
      await h.sync();
    } finally {
      await h.close();
    }
  }

  /**
   * Commits everything changed in the run; returns the commit id, or undefined if nothing
   * changed. Commits of one worktree are serialised within this process (a veto can land while
   * the loop commits results), since two git processes would fight over the index lock.
   */
  async commit(message: string): Promise<string | undefined> {
    return serialised(this.dir, async () => {
      await this.git.raw(['add', '--all', '.']);
      const status = await this.git.raw(['status', '--porcelain']);
      if (!status) return undefined;
      await this.git.raw(['commit', '--quiet', '--no-verify', '-m', message]);
      return this.git.raw(['rev-parse', 'HEAD']);
    });
  }

  async tag(name: string, message: string): Promise<void> {
    const full = `${this.branch}/${name}`;
    const existing = await this.git.raw(['tag', '--list', full]);
    if (!existing) await this.git.raw(['tag', '--annotate', '-m', message, full]);
  }

  async log(max = 50): Promise<{ hash: string; message: string }[]> {
    const out = await this.git.raw(['log', `--max-count=${max}`, '--format=%H%x09%s']);
    return out.split('\n').filter(Boolean).map((l) => {
      const [hash, ...rest] = l.split('\t');
      return { hash, message: rest.join('\t') };
    });
  }

  /** The commit the worktree is at, and whether it has changes not committed yet. */
  async head(): Promise<{ commit: string; dirty: boolean }> {
    const commit = (await this.git.raw(['rev-parse', 'HEAD'])).trim();
    const dirty = Boolean((await this.git.raw(['status', '--porcelain'])).trim());
    return { commit, dirty };
  }

  async tags(): Promise<string[]> {
    return (await this.git.raw(['tag', '--list', `${this.branch}/*`])).split('\n').filter(Boolean);
  }
}

const queues = new Map<string, Promise<unknown>>();

function serialised<T>(key: string, fn: () => Promise<T>): Promise<T> {
  const before = queues.get(key) ?? Promise.resolve();
  const next = before.then(fn, fn);
  const settled = next.catch(() => undefined);
  queues.set(key, settled);
  void settled.then(() => {
    if (queues.get(key) === settled) queues.delete(key);
  });
  return next;
}

async function topLevel(dir: string): Promise<string | undefined> {
  try {
    const top = await simpleGit({ baseDir: path.resolve(dir), trimmed: true }).raw(['rev-parse', '--show-toplevel']);
    return top || undefined;
  } catch {
    return undefined;
  }
}

async function excludeFromStatus(repoDir: string, runsDir: string): Promise<void> {
  const gitDir = await simpleGit({ baseDir: repoDir, trimmed: true }).raw(['rev-parse', '--absolute-git-dir']);
  const file = path.join(gitDir, 'info', 'exclude');
  const pattern = `/${path.relative(repoDir, runsDir).split(path.sep).join('/')}/`;
  const current = (await fs.readFile(file, 'utf8').catch(() => '')).split('\n');
  if (current.includes(pattern)) return;
  await fs.mkdir(path.dirname(file), { recursive: true });
  await fs.appendFile(file, `${current.at(-1) === '' || current.length === 0 ? '' : '\n'}# Self-Developing run worktrees\n${pattern}\n`);
}

function isInside(p: string, dir: string): boolean {
  const rel = path.relative(dir, p);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

async function exists(p: string): Promise<boolean> {
  return fs.stat(p).then(
    () => true,
    () => false,
  );
}
