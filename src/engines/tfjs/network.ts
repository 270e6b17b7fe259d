// Executes a ModelSpec with tfjs: the ring (or, for the plain model, every kernel) and the free
// parameters are variables; generated kernels are produced from the ring at each forward pass.
// Variables stay unnamed: tfjs names are process-global, and a trainer may hold several runs.
import * as tf from '@tensorflow/tfjs-core';
import type { ModelSpec, Op, ParamSpec } from '../../core/models/spec';
import { Rng } from '../../core/rpg/prng';
import { heStd } from '../../core/rpg/plan';
import { initialRing, MaterializedPlan } from '../../core/rpg/materialize';
import { RING_TENSOR } from '../../core/checkpoint/file';
import { RingGenerator } from './ring-generator';
import { batchNormInfer, batchNormTrain, conv2d, globalAvgPool, matMul, maxPool2x2, padShortcut, relu } from './ops';

export const BN_MOMENTUM = 0.1;

export interface NamedVariable {
  readonly name: string;
  readonly variable: tf.Variable;
  /** 'ring' gets the RPG learning-rate normalization; the rest are ordinary parameters. */
  readonly role: 'ring' | 'free';
}

export interface ForwardResult {
  readonly logits: tf.Tensor2D;
  /** Training mode: batch statistics per BatchNorm layer, for the running averages. */
  readonly bnBatchStats: { name: string; mean: tf.Tensor1D; variance: tf.Tensor1D; rows: number }[];
}

/** Initial value of a parameter that is trained directly: He normal kernels, zero biases, BN γ=1, β=0. */
export function initialFreeValue(p: ParamSpec, seed: number): Float32Array {
  const v = new Float32Array(p.size);
  if (p.kind === 'conv' || p.kind === 'dense') {
    const rng = new Rng(seed, `free-init:${p.name}`);
    const std = heStd(p);
    for (let i = 0; i < v.length; i++) v[i] = rng.nextNormal() * std;
  } else if (p.kind === 'bn-gamma') {
    v.fill(1);
  }
  return v;
}

/** A variable whose initial tensor is released (tidy keeps variables, disposes the rest). */
export function newVariable(initial: () => tf.Tensor, trainable: boolean): tf.Variable {
  return tf.tidy(() => tf.variable(initial(), trainable));
}

export class Network {
  readonly variables: NamedVariable[] = [];
  readonly ring: tf.Variable | undefined;
  private readonly free = new Map<string, tf.Variable>();
  readonly bnRunning = new Map<string, { mean: tf.Variable; variance: tf.Variable }>();
  private readonly generator: RingGenerator | undefined;
  private readonly generatedNames: string[];
  /** Values computed from the input data alone: no gradient flows into them. */
  private readonly dataOnly: ReadonlySet<string>;

  constructor(
    readonly spec: ModelSpec,
    readonly materialized: MaterializedPlan | undefined,
    seed: number,
  ) {
    const plan = materialized?.plan;
    if (plan && materialized) {
      this.ring = newVariable(() => tf.tensor1d(initialRing(plan)), true);
      this.variables.push({ name: RING_TENSOR, variable: this.ring, role: 'ring' });
      this.generator = new RingGenerator(materialized);
    }
    this.generatedNames = plan ? plan.layers.map((l) => l.param.name) : [];
    const generated = new Set(this.generatedNames);
    for (const p of spec.params) {
      if (generated.has(p.name)) continue;
      const v = newVariable(() => tf.tensor(initialFreeValue(p, seed), [...p.shape]), true);
      this.free.set(p.name, v);
      this.variables.push({ name: p.name, variable: v, role: 'free' });
    }
    this.dataOnly = dataOnlyValues(spec);
    for (const op of spec.ops) {
      if (op.op !== 'batchnorm') continue;
      const c = spec.params.find((p) => p.name === op.gamma)!.size;
      this.bnRunning.set(op.name, { mean: newVariable(() => tf.zeros([c]), false), variance: newVariable(() => tf.ones([c]), false) });
    }
  }

  /** The generated kernels by parameter name (differentiable w.r.t. the ring). */
  generatedWeights(): Map<string, tf.Tensor> {
    const out = new Map<string, tf.Tensor>();
    if (!this.generator || !this.ring) return out;
    const ws = this.generator.generate(this.ring as tf.Tensor1D);
    this.generatedNames.forEach((n, i) => out.set(n, ws[i]!));
    return out;
  }

  forward(x: tf.Tensor4D, training: boolean): ForwardResult {
    const weights = this.generatedWeights();
    const param = (name: string): tf.Tensor => weights.get(name) ?? this.free.get(name)!;
    const values = new Map<string, tf.Tensor>([[this.spec.input, x]]);
    const bnBatchStats: ForwardResult['bnBatchStats'] = [];
    for (const op of this.spec.ops) values.set(op.output, this.apply(op, values, param, training, bnBatchStats));
    return { logits: values.get(this.spec.output) as tf.Tensor2D, bnBatchStats };
  }

  private apply(op: Op, values: Map<string, tf.Tensor>, param: (n: string) => tf.Tensor, training: boolean, stats: ForwardResult['bnBatchStats']): tf.Tensor {
    const get = (n: string) => values.get(n)!;
    switch (op.op) {
      case 'conv': {
        const y = conv2d(get(op.input) as tf.Tensor4D, param(op.weight) as tf.Tensor4D, op.stride, op.padding, { inputGrad: !this.dataOnly.has(op.input) });
        return op.bias ? tf.add(y, param(op.bias)) : y;
      }
      case 'dense': {
        const y = matMul(get(op.input) as tf.Tensor2D, param(op.weight) as tf.Tensor2D, { inputGrad: !this.dataOnly.has(op.input) });
        return op.bias ? tf.add(y, param(op.bias)) : y;
      }
      case 'batchnorm': {
        const gamma = param(op.gamma) as tf.Tensor1D;
        const beta = param(op.beta) as tf.Tensor1D;
        if (training) {
          const r = batchNormTrain(get(op.input), gamma, beta);
          stats.push({ name: op.name, mean: r.mean, variance: r.variance, rows: r.rows });
          return r.y;
        }
        const run = this.bnRunning.get(op.name)!;
        return batchNormInfer(get(op.input), gamma, beta, run.mean as tf.Tensor1D, run.variance as tf.Tensor1D);
      }
      case 'relu':
        return relu(get(op.input));
      case 'maxpool':
        return op.size === 2 && op.stride === 2 && op.padding === 'valid'
          ? maxPool2x2(get(op.input) as tf.Tensor4D)
          : tf.maxPool(get(op.input) as tf.Tensor4D, op.size, op.stride, op.padding);
      case 'globalavgpool':
        return globalAvgPool(get(op.input) as tf.Tensor4D);
      case 'flatten': {
        const t = get(op.input);
        return tf.reshape(t, [t.shape[0]!, -1]);
      }
      case 'add':
        return tf.add(get(op.inputs[0]), get(op.inputs[1]));
      case 'pad-shortcut':
        return padShortcut(get(op.input) as tf.Tensor4D, op.stride, op.outChannels);
    }
  }

  /** Folds batch statistics into the running averages (unbiased variance, PyTorch convention). */
  updateRunningStats(stats: ForwardResult['bnBatchStats']): void {
    tf.tidy(() => {
      for (const s of stats) {
        const run = this.bnRunning.get(s.name)!;
        const n = s.rows;
        const unbiased = tf.mul(s.variance, n / Math.max(1, n - 1));
        run.mean.assign(tf.add(tf.mul(run.mean, 1 - BN_MOMENTUM), tf.mul(s.mean, BN_MOMENTUM)));
        run.variance.assign(tf.add(tf.mul(run.variance, 1 - BN_MOMENTUM), tf.mul(unbiased, BN_MOMENTUM)));
      }
    });
    for (const s of stats) tf.dispose([s.mean, s.variance]);
  }

  /** Every persistent tensor by name: variables and BN running stats (for checkpoints). */
  state(): Map<string, tf.Variable> {
    const out = new Map<string, tf.Variable>();
    for (const v of this.variables) out.set(v.name, v.variable);
    for (const [name, r] of this.bnRunning) {
      out.set(`${name}.running_mean`, r.mean);
      out.set(`${name}.running_var`, r.variance);
    }
    return out;
  }

  dispose(): void {
    for (const v of this.state().values()) v.dispose();
    this.generator?.dispose();
  }
}

/** The input, and every value reached from it by parameter-free ops only (flatten, pooling,
 * relu, ...): a layer reading one of these needs no input gradient. */
export function dataOnlyValues(spec: ModelSpec): Set<string> {
  const out = new Set([spec.input]);
  for (const op of spec.ops) {
    const parameterFree = op.op === 'relu' || op.op === 'maxpool' || op.op === 'globalavgpool' || op.op === 'flatten' || op.op === 'pad-shortcut';
    const inputs = op.op === 'add' ? op.inputs : [op.input];
    if ((parameterFree || op.op === 'add') && inputs.every((i) => out.has(i))) out.add(op.output);
  }
  return out;
}
