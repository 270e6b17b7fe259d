// Expands a counted plan into the per-weight arrays the generator needs. Every array is a
// pure function of (plan, seed): checkpoints store only the seed and the plan hash.
import { createHash } from 'node:crypto';
import { Rng, RngState } from './prng';
import type { GeneratedLayer, RpgPlan } from './plan';

export interface MaterializedPlan {
  readonly plan: RpgPlan;
  /** index[i]: the ring entry feeding generated weight i (flat order, layer after layer). */
  readonly index: Int32Array;
  /** sign[i] ∈ {−1, +1}. */
  readonly sign: Int8Array;
  /** signScale[i] = sign[i] · c_l: the fixed multiplier of weight i. */
  readonly signScale: Float32Array;
  /**
   * The O(N) ring gradient: rows × M positions; gradGather[r·M + j] is the flat weight that is
   * entry j's r-th use, or N (a zero slot) when entry j has fewer uses. Then
   * dRing = sum over rows of gather([dW·signScale, 0], gradGather) — no per-entry loop.
   */
  readonly gradGather: Int32Array;
  readonly rows: number;
  /** Per entry: Σ c_l² over its uses (the projected-gradient preconditioner) and its use count. */
  readonly scaleSquareSum: Float32Array;
  readonly useCount: Int32Array;
  /** Hash of index and sign arrays: detects any change in how plans are drawn. */
  readonly contentHash: string;
}

export function materializePlan(plan: RpgPlan): MaterializedPlan {
  const N = plan.generatedCount;
  const M = plan.ringSize;
  const index = new Int32Array(N);
  const rows = Math.ceil(N / M);
  const gradGather = new Int32Array(rows * M).fill(N);

  if (plan.mode === 'ring') {
    // Layers take consecutive entries with wrap-around, then a fixed permutation inside each.
    const rng = new Rng(plan.seed, 'ring-layer-permutation');
    for (const layer of plan.layers) {
      const perm = rng.permutation(layer.size);
      for (let k = 0; k < layer.size; k++) {
        const pre = layer.offset + perm[k]!;
        index[layer.offset + k] = pre % M;
        gradGather[pre] = layer.offset + k;
      }
    }
  } else {
    const { full, subset, order } = shuffledDraw(plan);
    for (let i = 0; i < N; i++) {
      const p = order[i]!;
      const entry = shuffledEntry(p, full, M, subset);
      index[i] = entry;
      gradGather[p < full ? p : full + entry] = i;
    }
  }

  const signRng = new Rng(plan.seed, 'signs');
  const sign = new Int8Array(N);
  const signScale = new Float32Array(N);
  const scaleSquareSum = new Float32Array(M);
  const useCount = new Int32Array(M);
  for (const layer of plan.layers) {
    const c = layer.scale;
    for (let i = layer.offset; i < layer.offset + layer.size; i++) {
      const s = signRng.nextSign();
      sign[i] = s;
      signScale[i] = s * c;
      const j = index[i]!;
      scaleSquareSum[j] += c * c;
      useCount[j]!++;
    }
  }
  return { plan, index, sign, signScale, gradGather, rows, scaleSquareSum, useCount, contentHash: hashArrays(index, sign) };
}

/**
 * "shuffled" mode, as the official code: ⌊N/M⌋ copies of 0..M−1 plus a random subset of size
 * N mod M, shuffled once. Position p of the shuffled order reads entry shuffledEntry(p).
 */
function shuffledDraw(plan: RpgPlan): { full: number; subset: Int32Array; order: Int32Array } {
  const N = plan.generatedCount;
  const M = plan.ringSize;
  const full = Math.floor(N / M) * M;
  const subset = new Rng(plan.seed, 'shuffled-subset').permutation(M).subarray(0, N - full);
  const order = new Rng(plan.seed, 'shuffled-order').permutation(N);
  return { full, subset, order };
}

function shuffledEntry(p: number, full: number, M: number, subset: Int32Array): number {
  return p < full ? p % M : subset[p - full]!;
}

/** What generation needs of a plan, or of one layer of it. */
export interface GatherScale {
  readonly index: Int32Array;
  readonly signScale: Float32Array;
}

/**
 * One layer's ring indices and fixed multipliers, equal to materializePlan's over the layer's
 * range, without the plan-sized arrays: the random streams are advanced past the layers
 * before it instead. (In "shuffled" mode the one global order is still drawn whole, once per plan.)
 */
export function materializeLayer(plan: RpgPlan, layer: GeneratedLayer): GatherScale {
  const at = plan.layers.indexOf(layer);
  if (at < 0) throw new Error(`materializeLayer: ${layer.param.name} is not a layer of this plan`);
  const streams = streamsAt(plan, at);
  const M = plan.ringSize;
  const index = new Int32Array(layer.size);
  if (plan.mode === 'ring') {
    const perm = streams.permutation!.permutation(layer.size);
    for (let k = 0; k < layer.size; k++) index[k] = (layer.offset + perm[k]!) % M;
  } else {
    const { full, subset, order } = lastShuffledDraw(plan);
    for (let k = 0; k < layer.size; k++) index[k] = shuffledEntry(order[layer.offset + k]!, full, M, subset);
  }
  const signScale = new Float32Array(layer.size);
  for (let k = 0; k < layer.size; k++) signScale[k] = streams.signs.nextSign() * layer.scale;
  return { index, signScale };
}

/**
 * shuffledDraw of the last "shuffled" plan asked about, for materializeLayer only: ResNet-34's
 * order is a 21M permutation (seconds to draw, 85 MB), needed whole for any one layer, so the
 * ring mapping's later layers reuse it. One plan is kept; materializePlan, called once per
 * training, draws its own and keeps nothing alive.
 */
let lastDraw: { hash: string; draw: ReturnType<typeof shuffledDraw> } | undefined;

function lastShuffledDraw(plan: RpgPlan): ReturnType<typeof shuffledDraw> {
  // The hash covers seed, mode, ring size and every layer's size: all the draw depends on.
  if (lastDraw?.hash !== plan.hash) {
    lastDraw = undefined; // let the old order go before drawing the new one
    lastDraw = { hash: plan.hash, draw: shuffledDraw(plan) };
  }
  return lastDraw.draw;
}

/**
 * The "ring-layer-permutation" and "signs" streams at the start of each layer, for the last
 * plan asked about. Reaching ResNet-34's last layer takes ~40M draws (about a second here); the
 * ring mapping then asks for one layer after another of the same plan, each O(layer) after this.
 */
let layerStarts: { hash: string; permutation: RngState[]; signs: RngState[] } | undefined;

function streamsAt(plan: RpgPlan, at: number): { permutation: Rng | undefined; signs: Rng } {
  // The hash covers everything the streams depend on: seed, mode and every layer's size.
  if (layerStarts?.hash !== plan.hash) {
    layerStarts = { hash: plan.hash, permutation: [new Rng(plan.seed, 'ring-layer-permutation').state()], signs: [new Rng(plan.seed, 'signs').state()] };
  }
  const { permutation, signs } = layerStarts;
  while (signs.length <= at) {
    const size = plan.layers[signs.length - 1]!.size;
    const s = Rng.fromState(signs[signs.length - 1]!);
    s.skip(size); // one sign per weight, in flat order across layers
    signs.push(s.state());
    // "shuffled" mode draws no per-layer permutations.
    if (plan.mode === 'ring') {
      const p = Rng.fromState(permutation[permutation.length - 1]!);
      p.skipPermutation(size);
      permutation.push(p.state());
    }
  }
  return { permutation: plan.mode === 'ring' ? Rng.fromState(permutation[at]!) : undefined, signs: Rng.fromState(signs[at]!) };
}

function hashArrays(index: Int32Array, sign: Int8Array): string {
  let h1 = 0x811c9dc5;
  let h2 = 0x01000193;
  for (let i = 0; i < index.length; i++) {
    h1 = Math.imul(h1 ^ index[i]!, 0x01000193);
    h2 = Math.imul(h2 ^ (sign[i]! + 2 + (i & 0xff)), 0x5bd1e995);
  }
  return (h1 >>> 0).toString(16).padStart(8, '0') + (h2 >>> 0).toString(16).padStart(8, '0');
}

/**
 * The contract between the engines (tfjs here, PyTorch in python/rpg_torch/plan.py): sha256,
 * hex, over the int32 little-endian ring index of every generated weight in plan order, then
 * the int8 sign of every generated weight, then the float32 little-endian scale c_l of every
 * generated layer. Equal hashes mean both engines generate every weight from the same entry
 * with the same sign and multiplier.
 */
export function materializedHash(m: Pick<MaterializedPlan, 'plan' | 'index' | 'sign'>): string {
  const scales = Float32Array.from(m.plan.layers, (l) => l.scale);
  return createHash('sha256')
    .update(littleEndianBytes(m.index))
    .update(new Uint8Array(m.sign.buffer, m.sign.byteOffset, m.sign.byteLength))
    .update(littleEndianBytes(scales))
    .digest('hex');
}

/** A typed array's bytes in little-endian order, whatever the host's order. */
function littleEndianBytes(a: Int32Array | Float32Array): Uint8Array {
  const bytes = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  if (new Uint8Array(new Uint32Array([1]).buffer)[0] === 1) return bytes;
  const out = new Uint8Array(bytes.length);
  const view = new DataView(out.buffer);
  for (let i = 0; i < a.length; i++) {
    if (a instanceof Int32Array) view.setInt32(i * 4, a[i]!, true);
    else view.setFloat32(i * 4, a[i]!, true);
  }
  return out;
}

/** The ring's initial values: normal with the plan's std, from the seed. */
export function initialRing(plan: RpgPlan): Float32Array {
  const rng = new Rng(plan.seed, 'ring-init');
  const ring = new Float32Array(plan.ringSize);
  for (let i = 0; i < ring.length; i++) ring[i] = rng.nextNormal() * plan.ringInitStd;
  return ring;
}

/**
 * Reference generation in plain JS: vec(W_l) = c_l · s_l ⊙ ring[idx_l], all layers
 * concatenated for a MaterializedPlan, one layer for materializeLayer's answer.
 */
export function generateWeights(m: GatherScale, ring: Float32Array): Float32Array {
  const out = new Float32Array(m.index.length);
  for (let i = 0; i < out.length; i++) out[i] = m.signScale[i]! * ring[m.index[i]!]!;
  return out;
}
