// Executes a ModelSpec with tfjs: the ring (or, for the plain model, every kernel) and the free
// parameters are variables; generated kernels are produced from the ring at each forward pass.
// Variables stay unnamed: tfjs names are process-global, and a trainer may hold several runs.
import * as tf from '@tensorflow/tfjs-core';
import { isKernelKind, ModelSpec, Op, opInputs, ParamSpec } from '../../core/models/spec';
import { hashString, Rng } from '../../core/rpg/prng';
import { heStd } from '../../core/rpg/plan';
import { initialRing, MaterializedPlan } from '../../core/rpg/materialize';
import { RING_TENSOR } from '../../core/checkpoint/file';
import { RingGenerator } from './ring-generator';
import { batchNormInfer, batchNormTrain, globalAvgPool, maxPool2x2, padShortcut, relu } from './ops';
import { denseLastAxis, depthwiseConv2d, dropout, embedding, gelu, globalMax, globalMean, groupedConv2d, layerNorm, prependToken, relu6, selectToken, selfAttention } from './graph-ops';

/** Std of free tokens and position embeddings at init (as ViT implementations: 0.02). */
const TOKEN_INIT_STD = 0.02;

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

/**
 * Initial value of a parameter that is trained directly: kernels normal with their layer's std
 * (heStd), zero biases, norm γ=1 and β=0, tokens and position embeddings normal with std 0.02.
 */
export function initialFreeValue(p: ParamSpec, seed: number): Float32Array {
  const v = new Float32Array(p.size);
  const std = isKernelKind(p.kind) ? heStd(p) : p.kind === 'token' || p.kind === 'position' ? TOKEN_INIT_STD : 0;
  if (std > 0) {
    const rng = new Rng(seed, `free-init:${p.name}`);
    for (let i = 0; i < v.length; i++) v[i] = rng.nextNormal() * std;
  } else if (p.kind === 'bn-gamma' || p.kind === 'ln-gamma') {
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
    readonly seed: number,
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

  /**
   * The logits for a batch. `step` (training only) seeds dropout masks, so a step drops the same
   * values in a run and in its resumption.
   */
  forward(x: tf.Tensor4D, training: boolean, step = 0): ForwardResult {
    const weights = this.generatedWeights();
    const param = (name: string): tf.Tensor => weights.get(name) ?? this.free.get(name)!;
    const values = new Map<string, tf.Tensor>([[this.spec.input, x]]);
    const bnBatchStats: ForwardResult['bnBatchStats'] = [];
    for (const op of this.spec.ops) values.set(op.output, this.apply(op, values, param, training, bnBatchStats, step));
    return { logits: values.get(this.spec.output) as tf.Tensor2D, bnBatchStats };
  }

  private apply(op: Op, values: Map<string, tf.Tensor>, param: (n: string) => tf.Tensor, training: boolean, stats: ForwardResult['bnBatchStats'], step: number): tf.Tensor {
    const get = (n: string) => values.get(n)!;
    const opt = (n: string | undefined) => (n === undefined ? undefined : param(n));
    switch (op.op) {
      case 'conv': {
        const y = groupedConv2d(get(op.input) as tf.Tensor4D, param(op.weight) as tf.Tensor4D, op.stride, op.padding, op.dilation ?? 1, op.groups ?? 1, { inputGrad: !this.dataOnly.has(op.input) });
        return op.bias ? tf.add(y, param(op.bias)) : y;
      }
      case 'depthwise': {
        const y = depthwiseConv2d(get(op.input) as tf.Tensor4D, param(op.weight) as tf.Tensor4D, op.stride, op.padding, op.dilation ?? 1, { inputGrad: !this.dataOnly.has(op.input) });
        return op.bias ? tf.add(y, param(op.bias)) : y;
      }
      case 'dense':
        return denseLastAxis(get(op.input), param(op.weight) as tf.Tensor2D, opt(op.bias), { inputGrad: !this.dataOnly.has(op.input) });
      case 'batchnorm': {
        const gamma = param(op.gamma) as tf.Tensor1D;
        const beta = param(op.beta) as tf.Tensor1D;
        const eps = op.epsilon ?? 1e-5;
        if (training) {
          const r = batchNormTrain(get(op.input), gamma, beta, eps);
          stats.push({ name: op.name, mean: r.mean, variance: r.variance, rows: r.rows });
          return r.y;
        }
        const run = this.bnRunning.get(op.name)!;
        return batchNormInfer(get(op.input), gamma, beta, run.mean as tf.Tensor1D, run.variance as tf.Tensor1D, eps);
      }
      case 'layernorm':
        return layerNorm(get(op.input), param(op.gamma) as tf.Tensor1D, param(op.beta) as tf.Tensor1D, op.epsilon);
      case 'activation': {
        const t = get(op.input);
        switch (op.fn) {
          case 'relu6':
            return relu6(t);
          case 'gelu':
            return gelu(t);
          case 'sigmoid':
            return tf.sigmoid(t);
          case 'tanh':
            return tf.tanh(t);
          case 'softmax':
            return tf.softmax(t);
        }
        break;
      }
      case 'avgpool':
        return tf.avgPool(get(op.input) as tf.Tensor4D, op.size, op.stride, op.padding);
      case 'globalmaxpool':
        return globalMax(get(op.input));
      case 'reshape': {
        const t = get(op.input);
        return tf.reshape(t, [t.shape[0]!, ...op.shape]);
      }
      case 'dropout':
        return training ? dropout(get(op.input), op.rate, (hashString(`dropout:${op.name}`) ^ Math.imul(this.seed + 1, 0x9e3779b1) ^ Math.imul(step + 1, 0x85ebca6b)) >>> 0) : get(op.input);
      case 'concat':
        return tf.concat(op.inputs.map(get), op.axis + 1);
      case 'embedding':
        return embedding(get(op.input), param(op.weight) as tf.Tensor2D);
      case 'attention':
        return selfAttention(get(op.input) as tf.Tensor3D, {
          query: param(op.query) as tf.Tensor2D, key: param(op.key) as tf.Tensor2D, value: param(op.value) as tf.Tensor2D, out: param(op.out) as tf.Tensor2D,
          queryBias: opt(op.queryBias), keyBias: opt(op.keyBias), valueBias: opt(op.valueBias), outBias: opt(op.outBias),
        }, op.heads, { inputGrad: !this.dataOnly.has(op.input) });
      case 'class-token':
        return prependToken(get(op.input) as tf.Tensor3D, param(op.token) as tf.Tensor1D);
      case 'position-embedding':
        return tf.add(get(op.input), param(op.table));
      case 'select-token':
        return selectToken(get(op.input) as tf.Tensor3D, op.index);
      case 'relu':
        return relu(get(op.input));
      case 'maxpool':
        return op.size === 2 && op.stride === 2 && op.padding === 'valid'
          ? maxPool2x2(get(op.input) as tf.Tensor4D)
          : tf.maxPool(get(op.input) as tf.Tensor4D, op.size, op.stride, op.padding);
      case 'globalavgpool': {
        const t = get(op.input);
        return t.rank === 4 ? globalAvgPool(t as tf.Tensor4D) : globalMean(t);
      }
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
  const PARAMETER_FREE: ReadonlySet<Op['op']> = new Set(['relu', 'activation', 'maxpool', 'avgpool', 'globalavgpool', 'globalmaxpool', 'flatten', 'reshape', 'dropout', 'add', 'concat', 'select-token', 'pad-shortcut']);
  for (const op of spec.ops) {
    if (PARAMETER_FREE.has(op.op) && opInputs(op).every((i) => out.has(i))) out.add(op.output);
  }
  return out;
}
