// Which ring a view of a plan's weights is drawn from: a run's checkpoint ring when that
// checkpoint was trained with this very plan, else the initial ring with a note saying which
// file was passed over and why. Never throws for a bad checkpoint: a view falls back, only
// training refuses. node:fs only (through checkpoint.ts), so the extension runs it in-process.
import { statSync } from 'node:fs';
import * as path from 'node:path';
import type { RingView } from '../rpg/layer-weights';
import { initialRing } from '../rpg/materialize';
import type { RpgPlan } from '../rpg/plan';
import { Checkpoint, CHECKPOINT_FILE, readCheckpoint, RING_TENSOR } from './file';

/** The ring to show for `plan`: runDir's checkpoint ring if it fits the plan, else the initial one. */
export function ringToView(plan: RpgPlan, runDir?: string): RingView {
  if (!runDir) return { ring: viewedInitialRing(plan), source: 'initial' };
  const file = path.join(runDir, CHECKPOINT_FILE);
  // The mapping asks for one layer after another: read a checkpoint again only when it changed
  // (a training run replaces it atomically, so a new file means a new mtime or size).
  const stamp = fileStamp(file);
  const key = `${file}\n${stamp}\n${plan.hash}\n${plan.ringInitStd}`;
  if (stamp && lastCheckpointView?.key === key) return lastCheckpointView.view;
  const view = readRingToView(plan, file);
  lastCheckpointView = stamp ? { key, view } : undefined;
  return view;
}

let lastCheckpointView: { key: string; view: RingView } | undefined;

function fileStamp(file: string): string | undefined {
  try {
    const st = statSync(file);
    return `${st.mtimeMs}:${st.size}:${st.ino}`;
  } catch {
    return undefined;
  }
}

function readRingToView(plan: RpgPlan, file: string): RingView {
  let checkpoint: Checkpoint;
  try {
    checkpoint = readCheckpoint(file);
  } catch (err) {
    // readCheckpoint's own errors name the file; anything else (a permission error) may not.
    const message = err instanceof Error ? err.message : String(err);
    return initialWithNote(plan, message.includes(file) ? message : `${file}: ${message}`);
  }
  const why = mismatch(plan, checkpoint);
  if (why) return initialWithNote(plan, `${file}: ${why}`);
  return { ring: checkpoint.tensors.get(RING_TENSOR)!.values, source: 'checkpoint' };
}

function initialWithNote(plan: RpgPlan, why: string): RingView {
  return { ring: viewedInitialRing(plan), source: 'initial', note: `${why}; showing the initial ring instead` };
}

/**
 * The initial ring of the last plan viewed: the ring mapping asks for one layer after another
 * of the same plan, and ResNet-34's ring takes most of a second to draw. Views only read it.
 * Keyed by ringInitStd too, which the plan hash leaves out.
 */
let lastInitial: { hash: string; std: number; ring: Float32Array } | undefined;

function viewedInitialRing(plan: RpgPlan): Float32Array {
  if (lastInitial?.hash !== plan.hash || lastInitial.std !== plan.ringInitStd) {
    lastInitial = { hash: plan.hash, std: plan.ringInitStd, ring: initialRing(plan) };
  }
  return lastInitial.ring;
}

/** Why the checkpoint's ring cannot stand in for `plan`'s, or undefined when it can. */
function mismatch(plan: RpgPlan, checkpoint: Checkpoint): string | undefined {
  // The header is JSON from disk: read it as untrusted, whatever its type says.
  const meta = checkpoint.meta as Partial<Checkpoint['meta']> | undefined;
  const ring = checkpoint.tensors.get(RING_TENSOR);
  if (!ring) return 'has no ring tensor (the run trained the plain model)';
  if (meta?.planHash !== plan.hash) {
    return `was trained with plan ${String(meta?.planHash)}, but this config plans ${plan.hash} (the seed, sampling, ring size or architecture changed since the run)`;
  }
  if (ring.values.length !== plan.ringSize) return `holds a ring of ${ring.values.length} entries, the plan has ${plan.ringSize}`;
  // The plan hash leaves out ringInitStd, which sets every layer's fixed scale c_l.
  const std = (meta.config as { rpg?: { ringInitStd?: unknown } } | undefined)?.rpg?.ringInitStd;
  if (typeof std === 'number' && std !== plan.ringInitStd) {
    return `was trained with rpg.ringInitStd ${std}, but this config says ${plan.ringInitStd} (the layers' fixed scales differ)`;
  }
  return undefined;
}
