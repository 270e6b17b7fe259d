// HashedNets (Chen et al. 2015, "Compressing Neural Networks with the Hashing Trick") as an RPG
// baseline at the same trained-parameter count: generated weight i of layer l reads bucket
// h_l(i) of the layer's own bucket vector, with a sign ξ_l(i): W_l[i] = ξ_l(i) · w_l[h_l(i)].
// The M buckets are split over the generated layers in proportion to their sizes (the paper
// compresses every layer by the same factor). Unlike RPG there is no balancing (a hash puts a
// random number of weights in each bucket), no sharing across layers and no fixed scale: a
// kernel's buckets start at the layer's He std, so its weights do too. Generated vectors
// (biases, BatchNorm under generate "all") start at their plain init θ₀ with buckets at 0.
// The network itself is a ProjectedNetwork: θ = θ₀ + P·z with one ±1 per row of P.
import type { ModelSpec, ParamSpec } from '../../core/models/spec';
import { Rng } from '../../core/rpg/prng';
import { heStd } from '../../core/rpg/plan';
import { ProjectedNetwork, SubspaceProjection } from './subspace-generator';

/** murmur3's 32-bit finalizer: every input bit reaches every output bit. */
function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** The hash of weight i of layer l for one purpose (bucket or sign): a pure function of the seed. */
export function weightHash(seed: number, purpose: 'bucket' | 'sign', layer: number, i: number): number {
  const salt = purpose === 'bucket' ? 0x68a5b1e3 : 0x2d9c41f7;
  return fmix32((fmix32(fmix32((seed ^ salt) >>> 0) ^ layer) + i) >>> 0);
}

/**
 * Buckets per layer: proportional to the layer sizes (largest remainder), at least one and at
 * most the layer's size each, M in all.
 */
export function splitBuckets(sizes: readonly number[], total: number): number[] {
  const n = sizes.reduce((s, v) => s + v, 0);
  if (total < sizes.length) throw new Error(`HashedNets needs at least one bucket per generated layer: rpg.dof ${total} is less than the ${sizes.length} generated layers`);
  if (total > n) throw new Error(`HashedNets: ${total} buckets for ${n} weights`);
  const exact = sizes.map((s) => (total * s) / n);
  const out = exact.map((e, l) => Math.min(sizes[l]!, Math.max(1, Math.floor(e))));
  // The rest (at most one per layer, either way) goes to the layer whose share is furthest
  // below its exact one, or comes from the one furthest above it, relatively.
  let left = total - out.reduce((s, v) => s + v, 0);
  while (left !== 0) {
    let pick = -1;
    for (let l = 0; l < sizes.length; l++) {
      const ratio = out[l]! / exact[l]!;
      if (left > 0 ? out[l]! < sizes[l]! && (pick < 0 || ratio < out[pick]! / exact[pick]!) : out[l]! > 1 && (pick < 0 || ratio > out[pick]! / exact[pick]!)) pick = l;
    }
    if (pick < 0) throw new Error('splitBuckets: no layer can take the remaining buckets');
    out[pick]! += Math.sign(left);
    left -= Math.sign(left);
  }
  return out;
}

export interface HashedLayout extends SubspaceProjection {
  /** Buckets of each layer, and the first bucket of each in the trained vector. */
  readonly buckets: readonly number[];
  readonly bucketStart: readonly number[];
  /** How many weights the fullest bucket holds (hashing does not balance). */
  readonly maxLoad: number;
}

/** P of HashedNets as a one-nonzero-per-row projection: index = the bucket, coef = the sign. */
export function buildHashedLayout(sizes: readonly number[], total: number, seed: number): HashedLayout {
  const buckets = splitBuckets(sizes, total);
  const N = sizes.reduce((s, v) => s + v, 0);
  const index = new Int32Array(N);
  const coef = new Float32Array(N);
  const load = new Int32Array(total);
  const bucketStart: number[] = [];
  let offset = 0;
  let start = 0;
  sizes.forEach((size, l) => {
    bucketStart.push(start);
    const k = buckets[l]!;
    for (let i = 0; i < size; i++) {
      const b = start + (weightHash(seed, 'bucket', l, i) % k);
      index[offset + i] = b;
      coef[offset + i] = weightHash(seed, 'sign', l, i) & 1 ? 1 : -1;
      load[b]!++;
    }
    offset += size;
    start += k;
  });
  let rows = 1;
  for (const n of load) rows = Math.max(rows, n);
  // The gradient table (SubspaceGenerator): column b lists bucket b's weights, N pads the rest.
  const gradGather = new Int32Array(rows * total).fill(N);
  const filled = new Int32Array(total);
  for (let i = 0; i < N; i++) {
    const b = index[i]!;
    gradGather[filled[b]!++ * total + b] = i;
  }
  return { generatedCount: N, dim: total, nonzeros: 1, index, coef, gradGather, rows, buckets, bucketStart, maxLoad: rows };
}

/** The buckets' initial values: a kernel's at its He std, a vector's at 0 (its θ₀ is the plain init). */
export function initialBuckets(params: readonly ParamSpec[], layout: HashedLayout, seed: number): Float32Array {
  const rng = new Rng(seed, 'hashed-buckets');
  const z = new Float32Array(layout.dim);
  params.forEach((p, l) => {
    const kernel = p.kind === 'conv' || p.kind === 'dense';
    const std = kernel ? heStd(p) : 0;
    for (let b = 0; b < layout.buckets[l]!; b++) z[layout.bucketStart[l]! + b] = kernel ? rng.nextNormal() * std : 0;
  });
  return z;
}

/** HashedNets: the plan's generated parameters through hashed buckets, M buckets trained. */
export class HashedNetwork extends ProjectedNetwork {
  readonly layout: HashedLayout;

  constructor(spec: ModelSpec, generatedNames: readonly string[], buckets: number, seed: number) {
    let layout: HashedLayout | undefined;
    super(spec, generatedNames, seed, (plainInit, params) => {
      layout = buildHashedLayout(params.map((p) => p.size), buckets, seed);
      // θ₀: 0 for kernels (the buckets carry their init), the plain init for vectors (1 for γ).
      const theta0 = new Float32Array(plainInit.length);
      let off = 0;
      for (const p of params) {
        if (p.kind !== 'conv' && p.kind !== 'dense') theta0.set(plainInit.subarray(off, off + p.size), off);
        off += p.size;
      }
      return { projection: layout, theta0, z0: initialBuckets(params, layout, seed), zName: 'hashed-buckets' };
    });
    this.layout = layout!;
  }
}
