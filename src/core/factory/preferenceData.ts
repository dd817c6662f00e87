// An LLM factory iteration's preference pairs as DPO data in TRL's standard preference format:
// {prompt, chosen, rejected}, with the exact prompt text the generator saw and the raw
// completions it wrote, so the files also serve TRL outside the project.
import { createHash } from 'node:crypto';
import type { PreferenceRow } from '../../protocol/backend';

/**
 * The completion text that stands for an algorithm: the raw completion the generator wrote;
 * for an algorithm a person edited since, the edited file in a fenced Python block (the form
 * the factory's extraction reads), since the raw completion no longer says what was scored.
 */
export function completionText(raw: string, file: string, edited: boolean): string {
  return edited ? fenced(file) : raw;
}

export function fenced(code: string): string {
  return '```python\n' + code.replace(/\s+$/, '') + '\n```\n';
}

export interface RefPair {
  chosen: string;
  rejected: string;
}

/**
 * Splits pairs into training and held-out ones by their rejected algorithm: the pairs of a
 * share of the rejected algorithms (chosen by a hash of the seed and the reference, so the split
 * is stable) are held out, so a held-out pair's rejected was never trained against. At least
 * one rejected algorithm stays in training; with fewer than two there is nothing to hold out.
 */
export function splitByRejected<P extends RefPair>(pairs: readonly P[], share: number, seed: number): { train: P[]; heldOut: P[] } {
  const rejected = [...new Set(pairs.map((p) => p.rejected))];
  const rank = (ref: string) => createHash('sha256').update(`${seed}:${ref}`).digest('hex');
  const count = rejected.length < 2 || share <= 0 ? 0 : Math.min(rejected.length - 1, Math.max(1, Math.round(share * rejected.length)));
  const held = new Set(rejected.sort((a, b) => rank(a).localeCompare(rank(b)) || a.localeCompare(b)).slice(0, count));
  return { train: pairs.filter((p) => !held.has(p.rejected)), heldOut: pairs.filter((p) => held.has(p.rejected)) };
}

export const preferenceJsonl = (rows: readonly PreferenceRow[]): string => rows.map((r) => JSON.stringify({ prompt: r.prompt, chosen: r.chosen, rejected: r.rejected })).join('\n') + (rows.length ? '\n' : '');

export const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');
