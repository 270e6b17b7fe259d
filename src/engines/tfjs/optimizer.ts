// SGD with momentum and Adam, written out so that (a) their state is plain named tensors we can
// checkpoint and restore bit-exactly, and (b) the ring can be stepped in *weight units*.
//
// Learning-rate normalization for the ring ("projected", the default). With W = P·z, where P
// holds one c_l·(±1) per row, a plain SGD step on W projected onto the RPG subspace is
//   Δz_j = −lr · (Σ_k c_k s_k g_k) / (Σ_k c_k²)       (k over the weights entry j feeds),
// so the ring gradient is divided by Σc² per entry; weight decay acts on z directly. For Adam
// we step v_j = c̄_j·z_j (c̄_j = RMS of the c_k entry j feeds), i.e. Adam on g/c̄ with a step
// divided by c̄: each generated weight then moves ~lr per step, as a plain weight under Adam.
// "official" uses raw gradients, as the published code (much smaller lrs needed on small nets).
import * as tf from '@tensorflow/tfjs-core';
import type { MaterializedPlan } from '../../core/rpg/materialize';
import { newVariable, NamedVariable } from './network';

export type OptimizerName = 'sgd' | 'adam';
export type LrNormalization = 'projected' | 'official';

interface Slot {
  readonly nv: NamedVariable;
  /** Multiplies the raw gradient, multiplies the weight-decay term, multiplies the step. */
  readonly gradMul?: tf.Tensor;
  readonly decayMul?: tf.Tensor;
  readonly stepMul?: tf.Tensor;
  readonly m: tf.Variable;
  readonly v?: tf.Variable;
}

export interface OptimizerSettings {
  readonly name: OptimizerName;
  readonly momentum: number;
  readonly weightDecay: number;
  readonly normalization: LrNormalization;
}

const ADAM_BETA1 = 0.9;
const ADAM_BETA2 = 0.999;
const ADAM_EPS = 1e-8;

export class Optimizer {
  private readonly slots: Slot[];
  /** Steps taken (Adam bias correction). */
  step = 0;

  constructor(
    readonly settings: OptimizerSettings,
    variables: readonly NamedVariable[],
    materialized: MaterializedPlan | undefined,
  ) {
    this.slots = variables.map((nv) => {
      const zeros = () => newVariable(() => tf.zerosLike(nv.variable), false);
      const base = { nv, m: zeros(), ...(settings.name === 'adam' ? { v: zeros() } : {}) };
      if (nv.role !== 'ring' || !materialized || settings.normalization === 'official') return base;
      return { ...base, ...ringMultipliers(settings.name, materialized) };
    });
  }

  /** Applies one update with the gradients tf.variableGrads returned (keyed by tfjs variable name). */
  apply(grads: Record<string, tf.Tensor>, lr: number): void {
    this.step++;
    const { name, momentum, weightDecay } = this.settings;
    const t = this.step;
    tf.tidy(() => {
      for (const s of this.slots) {
        const raw = grads[s.nv.variable.name];
        if (!raw) continue;
        const x = s.nv.variable;
        let g = s.gradMul ? tf.mul(raw, s.gradMul) : raw;
        if (weightDecay > 0) g = tf.add(g, tf.mul(s.decayMul ? tf.mul(x, s.decayMul) : x, weightDecay));
        let update: tf.Tensor;
        if (name === 'sgd') {
          const buf = tf.add(tf.mul(s.m, momentum), g);
          s.m.assign(buf);
          update = buf;
        } else {
          const m = tf.add(tf.mul(s.m, ADAM_BETA1), tf.mul(g, 1 - ADAM_BETA1));
          const v = tf.add(tf.mul(s.v!, ADAM_BETA2), tf.mul(tf.square(g), 1 - ADAM_BETA2));
          s.m.assign(m);
          s.v!.assign(v);
          const mHat = tf.div(m, 1 - Math.pow(ADAM_BETA1, t));
          const vHat = tf.div(v, 1 - Math.pow(ADAM_BETA2, t));
          update = tf.div(mHat, tf.add(tf.sqrt(vHat), ADAM_EPS));
        }
        if (s.stepMul) update = tf.mul(update, s.stepMul);
        x.assign(tf.sub(x, tf.mul(update, lr)));
      }
    });
  }

  /** Optimizer state as named tensors, for checkpoints. */
  state(): Map<string, tf.Variable> {
    const out = new Map<string, tf.Variable>();
    for (const s of this.slots) {
      out.set(`${s.nv.name}/m`, s.m);
      if (s.v) out.set(`${s.nv.name}/v`, s.v);
    }
    return out;
  }

  dispose(): void {
    for (const s of this.slots) tf.dispose([s.m, ...(s.v ? [s.v] : []), ...[s.gradMul, s.decayMul, s.stepMul].filter((t): t is tf.Tensor => !!t)]);
  }
}

/** Per-entry multipliers implementing the "projected" normalization (see the file comment). */
function ringMultipliers(name: OptimizerName, m: MaterializedPlan): Pick<Slot, 'gradMul' | 'decayMul' | 'stepMul'> {
  const M = m.plan.ringSize;
  const gradMul = new Float32Array(M);
  const decayMul = new Float32Array(M);
  const stepMul = new Float32Array(M);
  for (let j = 0; j < M; j++) {
    const sumSq = m.scaleSquareSum[j]!;
    const rms = Math.sqrt(sumSq / Math.max(1, m.useCount[j]!));
    if (name === 'sgd') {
      gradMul[j] = 1 / sumSq;
      decayMul[j] = 1;
      stepMul[j] = 1;
    } else {
      gradMul[j] = 1 / rms;
      decayMul[j] = rms;
      stepMul[j] = 1 / rms;
    }
  }
  return { gradMul: tf.tensor1d(gradMul), decayMul: tf.tensor1d(decayMul), stepMul: tf.tensor1d(stepMul) };
}
