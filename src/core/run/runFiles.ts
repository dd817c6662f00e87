// The one reader of a run's files: the header, the typed records with their repair-or-skip
// policy, vetoes and every question "what is there" (which iterations, refined or not, finalized).
// The loop reads through it with repair on (it owns the files and may rewrite a last line a
// crash cut short); the views read through it with repair off, since a loop may be appending at
// that moment and a rewrite would lose the line.
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { upgradeStoredConfig, type RunConfig } from '../config/runConfig';
import { parseLlmFactoryRecord, type LlmFactoryRecord } from '../factory/llmFactoryRecord';
import {
  WORKERS_STATE_FILE,
  BASELINES_FILE,
  factoryFile,
  FINAL_CONTROL_FILE,
  FINAL_REFERENCES_FILE,
  FINAL_RESULTS_FILE,
  pairsFile,
  resultsFile,
  RUN_FILE,
  samplesFile,
  completionsFile,
  SEALED_FILE,
  SUMMARY_FILE,
  VETOES_FILE,
} from './layout';
import type { RunSummary } from '../loop/summary';
import type { WorkerPoolStatus } from '../../protocol/backend';
import type { Run } from '../store/runStore';
import { latestById, parseJsonl, type CompletionRecord, type PairRecord, type SampleRecord, type ScoredRecord } from './records';
import { Vetoes } from './vetoes';

export interface RunHeader {
  id: string;
  name: string;
  createdAt: string;
  selfdevVersion: string;
  configFile: string;
  config: RunConfig;
  /** Where the run was started: "local", or the remote backend (host or address). Runs made
   * before remote backends have none (they were local). */
  backend?: { kind: 'local' | 'ssh' | 'websocket' | 'unix'; target?: string };
}

/** Where a run's files are read: a run's worktree (the store), or a plain folder. */
export interface RunSource {
  read(rel: string): Promise<string | undefined>;
  /** The absolute path of a file, for messages. */
  path(rel: string): string;
}

/** A source the loop may also write (its worktree). */
export interface WritableRunSource extends RunSource {
  write(rel: string, text: string): Promise<void>;
}

/** A folder read from the file system, read-only. */
export function folderSource(dir: string): RunSource {
  return {
    async read(rel) {
      try {
        return await fs.readFile(path.join(dir, rel), 'utf8');
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
        throw err;
      }
    },
    path: (rel) => path.join(dir, rel),
  };
}

/** run.json, checked: errors name the file. Fields added by later versions get their defaults. */
export function parseRunHeader(text: string | undefined, file: string): RunHeader {
  if (!text) throw new Error(`${file}: missing: this folder is not a Self-Developing run`);
  let header: RunHeader;
  try {
    header = JSON.parse(text) as RunHeader;
  } catch (err) {
    throw new Error(`${file}: not valid JSON (${(err as Error).message})`);
  }
  if (!header?.config?.seed) throw new Error(`${file}: field "config" is missing or damaged`);
  return { ...header, config: upgradeStoredConfig(header.config) };
}

/** What a listing needs of run.json (id, name, creation time), read leniently: a damaged file
 * still lists the run, with the problem, where the loop would refuse it. */
export function inspectRunHeader(text: string, file: string, fallbackId: string): { id: string; name: string; createdAt?: string; problem?: string } {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    return { id: fallbackId, name: fallbackId, problem: `${file}: not valid JSON (${(err as Error).message})` };
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    return { id: fallbackId, name: fallbackId, problem: `${file}: expected a JSON object` };
  }
  const obj = json as Record<string, unknown>;
  const id = typeof obj.id === 'string' && obj.id ? obj.id : fallbackId;
  const name = typeof obj.name === 'string' && obj.name ? obj.name : id;
  const createdAt = typeof obj.createdAt === 'string' ? obj.createdAt : undefined;
  const problem = typeof obj.id === 'string' ? undefined : `${file}: field "id" (a string) is missing`;
  return { id, name, createdAt, problem };
}

export interface RunFilesOptions {
  /** Rewrite a file whose last line a crash cut short (only the run's own loop may). */
  repair?: boolean;
  log?: (line: string) => void;
}

export class RunFiles {
  constructor(
    readonly source: RunSource | WritableRunSource,
    private readonly opts: RunFilesOptions = {},
  ) {}

  /** A run folder read by someone other than its loop: nothing is ever rewritten. */
  static readOnly(dir: string): RunFiles {
    return new RunFiles(folderSource(dir));
  }

  read(rel: string): Promise<string | undefined> {
    return this.source.read(rel);
  }

  path(rel: string): string {
    return this.source.path(rel);
  }

  /** The last state of the run's workers (scale-out) a loop saw, where it had some. */
  async workers(): Promise<(WorkerPoolStatus & { at: string }) | undefined> {
    const src = this.source as Partial<Pick<Run, 'readPrivate'>>;
    const text = await src.readPrivate?.(WORKERS_STATE_FILE);
    try {
      return text ? (JSON.parse(text) as WorkerPoolStatus & { at: string }) : undefined;
    } catch {
      return undefined;
    }
  }

  async header(): Promise<RunHeader> {
    return parseRunHeader(await this.read(RUN_FILE), this.path(RUN_FILE));
  }

  /** The config as far as it can be read, or undefined when run.json is missing or not JSON:
   * views show what they can of a damaged run, where the loop would refuse it. */
  async config(): Promise<RunConfig | undefined> {
    try {
      const config = (JSON.parse((await this.read(RUN_FILE)) ?? 'null') as { config?: RunConfig } | null)?.config;
      return typeof config === 'object' && config !== null ? upgradeStoredConfig(config) : undefined;
    } catch {
      return undefined;
    }
  }

  /** Records of a JSONL file. A last line cut short by a crash is skipped, and, with repair on,
   * dropped from the file. Any other bad line is an error naming the file and line. */
  async records<T>(rel: string): Promise<T[]> {
    let truncated = false;
    const out = parseJsonl<T>(await this.read(rel), this.path(rel), () => (truncated = true));
    const writable = this.source as Partial<WritableRunSource>;
    if (truncated && this.opts.repair && writable.write) {
      this.opts.log?.(`${rel}: dropped a record cut short by an interruption`);
      await writable.write(rel, out.map((r) => JSON.stringify(r)).join('\n') + (out.length ? '\n' : ''));
    }
    return out;
  }

  /** Every record of iteration t's results, history included (edits add later lines). */
  allResults(t: number): Promise<ScoredRecord[]> {
    return this.records<ScoredRecord>(resultsFile(t));
  }

  /** The records in force of iteration t (latest per id). */
  async results(t: number): Promise<ScoredRecord[]> {
    return latestById(await this.allResults(t));
  }

  /** The records in force of the seed, the baselines and the control. */
  async baselines(): Promise<ScoredRecord[]> {
    return latestById(await this.records<ScoredRecord>(BASELINES_FILE));
  }

  samples(t: number): Promise<SampleRecord[]> {
    return this.records<SampleRecord>(samplesFile(t));
  }

  /** The LLM factory's raw completions of iteration t (none for the grammar factory). */
  completions(t: number): Promise<CompletionRecord[]> {
    return this.records<CompletionRecord>(completionsFile(t));
  }

  pairs(t: number): Promise<PairRecord[]> {
    return this.records<PairRecord>(pairsFile(t));
  }

  finalResults(): Promise<ScoredRecord[]> {
    return this.records<ScoredRecord>(FINAL_RESULTS_FILE);
  }

  finalReferences(): Promise<ScoredRecord[]> {
    return this.records<ScoredRecord>(FINAL_REFERENCES_FILE);
  }

  /** The random-program control's finalists on the sealed test split. */
  finalControl(): Promise<ScoredRecord[]> {
    return this.records<ScoredRecord>(FINAL_CONTROL_FILE);
  }

  async vetoes(): Promise<Vetoes> {
    return Vetoes.parse(await this.read(VETOES_FILE), this.path(VETOES_FILE));
  }

  /** Iterations that have generated algorithms: 1..n. */
  async generatedIterations(): Promise<number> {
    let t = 0;
    while (await this.read(samplesFile(t + 1))) t++;
    return t;
  }

  async iterations(): Promise<number[]> {
    return Array.from({ length: await this.generatedIterations() }, (_, i) => i + 1);
  }

  /** Iterations whose refinement is recorded (factory.json written): 1..n. */
  async completedIterations(): Promise<number> {
    let t = 0;
    while (await this.read(factoryFile(t + 1))) t++;
    return t;
  }

  /** Iteration t's factory.json, parsed once: an LLM record, a grammar one, or undefined. */
  async factoryRecord(t: number): Promise<LlmFactoryRecord | GrammarFactoryRecord | undefined> {
    const text = await this.read(factoryFile(t));
    if (!text) return undefined;
    const json = JSON.parse(text) as { kind?: string };
    return json.kind === 'llm' ? parseLlmFactoryRecord(text, this.path(factoryFile(t))) : (json as GrammarFactoryRecord);
  }

  /** Whether iteration t has been refined (its pairs are used). An LLM iteration whose
   * refinement is deferred (the last planned one) is finished but its pairs are not used yet. */
  async refined(t: number): Promise<boolean> {
    const record = await this.factoryRecord(t);
    return record !== undefined && !(record.kind === 'llm' && record.refinement?.status === 'deferred');
  }

  /** Whether iteration t is finished (its factory.json is written, refined or deferred). */
  async finished(t: number): Promise<boolean> {
    return Boolean(await this.read(factoryFile(t)));
  }

  /** Iteration t's factory.json as an LLM factory record, when it is one. */
  async llmFactory(t: number): Promise<LlmFactoryRecord | undefined> {
    const record = await this.factoryRecord(t);
    return record?.kind === 'llm' ? record : undefined;
  }

  /** The factory version iteration t's refinement produced, when it has one. */
  async factoryVersion(t: number): Promise<number | null> {
    return (await this.factoryRecord(t))?.version ?? null;
  }

  /** summary.json as the loop last wrote it, or undefined (missing, damaged, or from a version
   * without these fields: readers check what they use). */
  async summary(): Promise<Partial<RunSummary> | undefined> {
    try {
      const text = await this.read(SUMMARY_FILE);
      return text ? (JSON.parse(text) as Partial<RunSummary>) : undefined;
    } catch {
      return undefined;
    }
  }

  async finalized(): Promise<boolean> {
    return Boolean(await this.read(SEALED_FILE));
  }
}

/** factory.json of a grammar factory iteration (what the views read of it). */
export interface GrammarFactoryRecord {
  kind?: 'grammar';
  version: number;
  pairs: number;
  pairsUsed: number;
  losses: number[];
  pairAccuracyBefore: number;
  pairAccuracyAfter: number;
  state?: { refinement?: { rewardAccuracyAfter?: number } | null };
}
