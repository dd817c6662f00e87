// The factory's parameters as saved in iterations/NN/factory.json: the logits of every choice
// point, with the version lineage and the record of the refinement that produced them.
import { CHOICE_POINTS, GRAMMAR_ID } from './grammar';

export type LogitTables = Record<string, number[]>;

export interface RefineOptions {
  /** DPO temperature: how far the policy may move from the reference (larger = more anchored). */
  beta: number;
  learningRate: number;
  steps: number;
}

/** Defaults (docs/FACTORY.md explains the choice). */
export const DEFAULT_REFINE_OPTIONS: RefineOptions = { beta: 0.5, learningRate: 1.0, steps: 100 };

export interface RefinementRecord {
  pairs: number;
  options: RefineOptions;
  lossBefore: number;
  lossAfter: number;
  pairAccuracyBefore: number;
  pairAccuracyAfter: number;
  rewardAccuracyAfter: number;
}

export interface FactoryState {
  kind: 'grammar';
  /** 0 for a fresh factory; each refinement adds 1. */
  version: number;
  parentVersion: number | null;
  grammar: typeof GRAMMAR_ID;
  /** The seed given to initialFactory, kept for the record. */
  seed: number;
  /** Refinement settings the loop uses unless the run config says otherwise. */
  hyperparameters: RefineOptions;
  /** Logits per choice point id (sampling uses softmax(logits / T)). */
  logits: LogitTables;
  /** How this version was made from its parent; null for version 0. */
  refinement: RefinementRecord | null;
}

/**
 * A fresh factory (version 0) with the grammar's prior logits. The prior does not depend on
 * the seed, so runs start from the same factory; sampling takes its own seed.
 */
export function initialFactory(seed = 0): FactoryState {
  const logits: LogitTables = {};
  for (const point of CHOICE_POINTS) logits[point.id] = [...point.prior];
  return {
    kind: 'grammar',
    version: 0,
    parentVersion: null,
    grammar: GRAMMAR_ID,
    seed,
    hyperparameters: { ...DEFAULT_REFINE_OPTIONS },
    logits,
    refinement: null,
  };
}

export function cloneState(state: FactoryState): FactoryState {
  return JSON.parse(JSON.stringify(state)) as FactoryState;
}

const isObject = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);
const finite = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x);

/** Checks a parsed factory.json; throws an error that says what is wrong. */
export function parseFactoryState(json: unknown): FactoryState {
  const fail = (what: string): never => {
    throw new Error(`factory state: ${what}`);
  };
  if (!isObject(json)) return fail('not a JSON object');
  if (json.kind !== 'grammar') fail(`kind is ${JSON.stringify(json.kind)}, expected "grammar"`);
  if (json.grammar !== GRAMMAR_ID) fail(`grammar is ${JSON.stringify(json.grammar)}, this version reads "${GRAMMAR_ID}"`);
  if (!Number.isInteger(json.version) || (json.version as number) < 0) fail('version must be a whole number >= 0');
  if (json.parentVersion !== null && !Number.isInteger(json.parentVersion)) fail('parentVersion must be a whole number or null');
  if (!finite(json.seed)) fail('seed must be a number');
  const h = json.hyperparameters;
  if (!isObject(h) || !finite(h.beta) || !finite(h.learningRate) || !finite(h.steps)) fail('hyperparameters need beta, learningRate and steps');
  if (!isObject(json.logits)) return fail('logits must be an object');
  const logits = json.logits;
  for (const point of CHOICE_POINTS) {
    const row = logits[point.id];
    if (!Array.isArray(row) || row.length !== point.options.length || !row.every(finite)) {
      fail(`logits of ${point.id} must be ${point.options.length} finite numbers`);
    }
  }
  const extra = Object.keys(logits).filter((k) => !CHOICE_POINTS.some((p) => p.id === k));
  if (extra.length) fail(`unknown choice points: ${extra.join(', ')}`);
  if (json.refinement !== null && !isObject(json.refinement)) fail('refinement must be an object or null');
  return cloneState(json as unknown as FactoryState);
}
