// A refinement job of the LLM factory: DPO of the current generator on the run's preference
// pairs, in a staging folder, then published as a content-hashed artifact by one rename, so a
// killed trainer never leaves a half-written generator where the loop would find one.
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { runDpoTrainer, type TrainerEvent } from '../engine/training/dpoTrainer';
import { folderHash } from './fileHash';
import type { RefineParams, RefineProgressParams, RefineResult } from '../protocol/backend';


/** Artifact names are relative paths of plain segments: no way out of the artifacts folder. */
const ARTIFACT = /^[A-Za-z0-9][A-Za-z0-9._-]*(\/[A-Za-z0-9][A-Za-z0-9._-]*)*$/;

export function artifactPath(artifactsDir: string | undefined, artifact: string): string {
  if (!artifactsDir) throw new Error('this backend has no artifacts folder: refined generators need one (the client sets it at initialize)');
  if (!ARTIFACT.test(artifact) || artifact.split('/').some((s) => s === '..' || s === '.')) throw new Error(`"${artifact}" is not a usable artifact name`);
  return path.join(artifactsDir, ...artifact.split('/'));
}

/** The merged weights of a refined generator, checked to be a published (complete) artifact. */
export async function refinedModelFolder(artifactsDir: string | undefined, artifact: string): Promise<string> {
  const dir = artifactPath(artifactsDir, artifact);
  const merged = path.join(dir, 'merged');
  for (const f of [path.join(dir, 'metrics.json'), path.join(merged, 'config.json')]) {
    try {
      await fs.access(f);
    } catch {
      throw new Error(`the refined generator ${artifact} is missing or incomplete on the backend (${f} not found): re-run the refinement of its iteration (selfdev refine) or restore ${dir}`);
    }
  }
  return merged;
}

const finite = (x: number | undefined) => (typeof x === 'number' && Number.isFinite(x) ? x : undefined);

export async function runRefineJob(p: RefineParams, artifactsDir: string | undefined, signal: AbortSignal, onProgress: (p: RefineProgressParams) => void, log?: (text: string) => void): Promise<RefineResult> {
  const started = performance.now();
  const target = artifactPath(artifactsDir, p.artifact);
  if (!p.train.length) throw new Error('no preference pairs to train on');
  const base = 'artifact' in p.base ? await refinedModelFolder(artifactsDir, p.base.artifact) : p.base.model;
  // One staging folder per job: a re-run of the same job finds its checkpoints; other jobs do not.
  const staging = `${target}.staging-${createHash('sha256').update(p.jobId).digest('hex').slice(0, 12)}`;
  let steps = 0;
  const onEvent = (e: TrainerEvent) => {
    const at = { jobId: p.jobId, step: 0, steps };
    if (e.event === 'loaded') {
      steps = e.steps;
      onProgress({ ...at, phase: 'load', step: e.resumedFrom ?? 0, steps });
    } else if (e.event === 'evaluated') onProgress({ ...at, phase: 'evaluate', step: e.when === 'after' ? steps : 0 });
    else if (e.event === 'step') onProgress({ jobId: p.jobId, phase: 'train', step: e.step, steps: e.steps, epoch: finite(e.epoch), loss: finite(e.loss), rewardAccuracy: finite(e.rewardAccuracy), rewardMargin: finite(e.rewardMargin) });
    else if (e.event === 'saved') onProgress({ ...at, phase: 'save', step: steps });
    else if (e.event === 'restarted') log?.(`refinement ${p.artifact}: ${e.reason}\n`);
  };
  const metrics = await runDpoTrainer({ base, train: p.train, heldOut: p.heldOut, hyperparameters: p.hyperparameters, device: p.device, threads: p.threads }, staging, { python: p.python, signal, onEvent, onStderr: log });
  const trained = performance.now();

  const weightHash = await folderHash(path.join(staging, 'merged'));
  const adapterHash = await folderHash(path.join(staging, 'adapter'));
  const artifact = `${p.artifact}-${weightHash.slice(0, 12)}`;
  const final = artifactPath(artifactsDir, artifact);
  try {
    await fs.access(path.join(final, 'metrics.json'));
    // The same weights were published before (a repeated job): keep those.
  } catch {
    // Publish: move the outputs into a fresh folder, then rename it into place in one step.
    const tmp = `${final}.tmp-${process.pid}`;
    await fs.rm(tmp, { recursive: true, force: true });
    await fs.mkdir(tmp, { recursive: true });
    for (const name of ['adapter', 'merged']) await fs.rename(path.join(staging, name), path.join(tmp, name));
    // metrics.json last: the mark of a complete artifact.
    await fs.rename(path.join(staging, 'metrics.json'), path.join(tmp, 'metrics.json'));
    await fs.rm(final, { recursive: true, force: true });
    await fs.rename(tmp, final);
  }
  await fs.rm(staging, { recursive: true, force: true });
  return { jobId: p.jobId, artifact, weightHash, adapterHash, metrics, timings: { train: (trained - started) / 1000, total: (performance.now() - started) / 1000 } };
}
