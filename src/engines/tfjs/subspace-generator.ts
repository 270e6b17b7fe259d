// Random-subspace training (Li et al. 2018, "intrinsic dimension") as an RPG baseline:
// θ = θ₀ + P·z, with θ₀ the plain model's initialization, z ∈ ℝ^M trained from 0 and P a fixed
// random sparse matrix with `nonzeros` Gaussian entries per row (N(0,1)/√nonzeros), their
// columns spread evenly (each z entry feeds ⌊N·s/M⌋ or ⌈N·s/M⌉ weights). With Adam on z every
// weight then moves by about lr per step, as under plain Adam. RPG is the special case θ₀ = 0,
// one ±c_l per row. Generation and its O(N·s) gradient mirror RingGenerator.
import * as tf from '@tensorflow/tfjs-core';
import type { ModelSpec } from '../../core/models/spec';
import { Rng } from '../../core/rpg/prng';
import { initialFreeValue, Network, newVariable } from './network';
import { withCustomGrad } from './ops';

export interface SubspaceProjection {
  readonly generatedCount: number;
  readonly dim: number;
  readonly nonzeros: number;
  /** index[k·N + i]: the z entry of weight i's k-th nonzero. */
  readonly index: Int32Array;
  readonly coef: Float32Array;
  /** rows × M table of flat (k·N + i) slots per z entry, N·s (a zero slot) when unused. */
  readonly gradGather: Int32Array;
  readonly rows: number;
}

export function buildSubspaceProjection(generatedCount: number, dim: number, seed: number, nonzeros = 2): SubspaceProjection {
  const N = generatedCount;
  const S = N * nonzeros;
  if (!(dim >= 1 && dim <= N)) throw new Error(`subspace dimension ${dim} must be in 1..${N}`);
  const rows = Math.ceil(S / dim);
  const perm = new Rng(seed, 'subspace-columns').permutation(S);
  const index = new Int32Array(S);
  const gradGather = new Int32Array(rows * dim).fill(S);
  for (let slot = 0; slot < S; slot++) {
    const p = perm[slot]!;
    index[slot] = p % dim;
    gradGather[p] = slot;
  }
  const rng = new Rng(seed, 'subspace-coefficients');
  const coef = new Float32Array(S);
  const norm = 1 / Math.sqrt(nonzeros);
  for (let i = 0; i < S; i++) coef[i] = rng.nextNormal() * norm;
  return { generatedCount: N, dim, nonzeros, index, coef, gradGather, rows };
}

/** Reference in plain JS: θ₀ + P·z. */
export function subspaceWeights(p: SubspaceProjection, theta0: Float32Array, z: Float32Array): Float32Array {
  const N = p.generatedCount;
  const out = Float32Array.from(theta0);
  for (let k = 0; k < p.nonzeros; k++) for (let i = 0; i < N; i++) out[i] += p.coef[k * N + i]! * z[p.index[k * N + i]!]!;
  return out;
}

export class SubspaceGenerator {
  private readonly index: tf.Tensor1D;
  private readonly coef: tf.Tensor1D;
  private readonly gradGather: tf.Tensor1D;
  private readonly rowOnes: tf.Tensor2D;
  private readonly kOnes: tf.Tensor2D;
  readonly theta0: tf.Tensor1D;

  constructor(
    readonly p: SubspaceProjection,
    theta0: Float32Array,
  ) {
    this.index = tf.tensor1d(p.index, 'int32');
    this.coef = tf.tensor1d(p.coef);
    this.gradGather = tf.tensor1d(p.gradGather, 'int32');
    this.rowOnes = tf.ones([1, p.rows]);
    this.kOnes = tf.ones([1, p.nonzeros]);
    this.theta0 = tf.tensor1d(theta0);
  }

  generateFlat(z: tf.Tensor1D): tf.Tensor1D {
    const { index, coef, gradGather, rowOnes, kOnes } = this;
    const { generatedCount: N, nonzeros: s, dim: M, rows } = this.p;
    const f = withCustomGrad(([zz]) => ({
      value: tf.reshape(tf.matMul(kOnes, tf.reshape(tf.mul(tf.gather(zz!, index), coef), [s, N])), [N]) as tf.Tensor1D,
      gradFunc: (dy: tf.Tensor) => {
        const g = tf.concat([tf.mul(tf.tile(dy, [s]), coef), tf.zeros([1])]);
        const table = tf.reshape(tf.gather(g, gradGather), [rows, M]) as tf.Tensor2D;
        return tf.reshape(tf.matMul(rowOnes, table), [M]);
      },
    }));
    return tf.add(this.theta0, f(z)) as tf.Tensor1D;
  }

  dispose(): void {
    tf.dispose([this.index, this.coef, this.gradGather, this.rowOnes, this.kOnes, this.theta0]);
  }
}

/**
 * The plain network whose kernels (those `isGenerated` selects) come from θ₀ + P·z. The plain
 * initialization of those kernels is θ₀; they are no longer trained; z (role 'free', plain
 * optimizer semantics) and the remaining free parameters are.
 */
export class SubspaceNetwork extends Network {
  readonly z: tf.Variable;
  private readonly sub: SubspaceGenerator;
  private readonly frozen: tf.Variable[];
  private readonly names: string[];
  private readonly sizes: number[];
  private readonly shapes: number[][];

  constructor(spec: ModelSpec, generatedNames: readonly string[], dim: number, seed: number, nonzeros = 2) {
    super(spec, undefined, seed);
    const params = generatedNames.map((n) => spec.params.find((p) => p.name === n)!);
    const state = this.state();
    this.frozen = params.map((p) => state.get(p.name)!);
    // The kernels leave the trained set; their initial values become θ₀.
    for (const p of params) this.variables.splice(this.variables.findIndex((v) => v.name === p.name), 1);
    const N = params.reduce((s, p) => s + p.size, 0);
    const theta0 = new Float32Array(N);
    let off = 0;
    // θ₀ is the kernels' initial value, drawn from the seed (the same arrays the variables were
    // made from): no read-back from the device.
    for (const p of params) {
      theta0.set(initialFreeValue(p, seed), off);
      off += p.size;
    }
    this.sub = new SubspaceGenerator(buildSubspaceProjection(N, dim, seed, nonzeros), theta0);
    // Unnamed: tfjs variable names are process-global and a trainer may hold several runs.
    this.z = newVariable(() => tf.zeros([dim]), true);
    this.variables.unshift({ name: 'subspace-z', variable: this.z, role: 'free' });
    this.names = params.map((p) => p.name);
    this.sizes = params.map((p) => p.size);
    this.shapes = params.map((p) => [...p.shape]);
  }

  override generatedWeights(): Map<string, tf.Tensor> {
    const flat = this.sub.generateFlat(this.z as tf.Tensor1D);
    const parts = this.sizes.length === 1 ? [flat] : tf.split(flat, this.sizes);
    return new Map(parts.map((t, i) => [this.names[i]!, tf.reshape(t, this.shapes[i]!)]));
  }

  override dispose(): void {
    super.dispose();
    tf.dispose(this.frozen);
    this.sub.dispose();
  }
}
