// Expands a counted plan into the per-weight arrays the generator needs. Every array is a
// pure function of (plan, seed): checkpoints store only the seed and the plan hash.
import { Rng } from './prng';
import type { RpgPlan } from './plan';

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
    // Official code: ⌊N/M⌋ copies of 0..M−1 plus a random subset of size N mod M, shuffled once.
    const full = Math.floor(N / M) * M;
    const extra = N - full;
    const subset = new Rng(plan.seed, 'shuffled-subset').permutation(M).subarray(0, extra);
    const order = new Rng(plan.seed, 'shuffled-order').permutation(N);
    for (let i = 0; i < N; i++) {
      const p = order[i]!;
      if (p < full) {
        index[i] = p % M;
        gradGather[p] = i;
      } else {
        const entry = subset[p - full]!;
        index[i] = entry;
        gradGather[full + entry] = i;
      }
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

function hashArrays(index: Int32Array, sign: Int8Array): string {
  let h1 = 0x811c9dc5;
  let h2 = 0x01000193;
  for (let i = 0; i < index.length; i++) {
    h1 = Math.imul(h1 ^ index[i]!, 0x01000193);
    h2 = Math.imul(h2 ^ (sign[i]! + 2 + (i & 0xff)), 0x5bd1e995);
  }
  return (h1 >>> 0).toString(16).padStart(8, '0') + (h2 >>> 0).toString(16).padStart(8, '0');
}

/** The ring's initial values: normal with the plan's std, from the seed. */
export function initialRing(plan: RpgPlan): Float32Array {
  const rng = new Rng(plan.seed, 'ring-init');
  const ring = new Float32Array(plan.ringSize);
  for (let i = 0; i < ring.length; i++) ring[i] = rng.nextNormal() * plan.ringInitStd;
  return ring;
}

/** Reference generation in plain JS: vec(W_l) = c_l · s_l ⊙ ring[idx_l], all layers concatenated. */
export function generateWeights(m: MaterializedPlan, ring: Float32Array): Float32Array {
  const out = new Float32Array(m.index.length);
  for (let i = 0; i < out.length; i++) out[i] = m.signScale[i]! * ring[m.index[i]!]!;
  return out;
}
