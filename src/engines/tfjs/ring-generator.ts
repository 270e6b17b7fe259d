// One generation pass per step. On cpu and wasm it is one host-memory kernel
// (host-generate-kernel.ts); on webgpu two compute shaders (webgpu-ring-kernels.ts). Elsewhere
// (native TensorFlow) it is tensor ops: a single gather, a sign/scale multiply and a split; the
// ring gradient is O(N): the weight gradients are gathered into a (rows × M) layout where column
// j lists entry j's uses, then summed over rows — never tfjs's per-slot UnsortedSegmentSum
// (O(N·M) on cpu, missing on wasm, and on webgpu adding with atomics: not deterministic).
import * as tf from '@tensorflow/tfjs-core';
import type { MaterializedPlan } from '../../core/rpg/materialize';
import { HostGenerateKernel, HOST_MEMORY_BACKENDS } from './host-generate-kernel';
import { withCustomGrad } from './ops';
import { WebGpuGenerateKernel } from './webgpu-ring-kernels';

/** 'auto': the host kernel where tensors live in host memory, the shaders on webgpu, tensor ops elsewhere. */
export type GeneratorKernel = 'auto' | 'host' | 'webgpu' | 'tensor';

export class RingGenerator {
  /** The host-memory kernel, the webgpu shaders, or the tensor-op tables; all hand back per-layer outputs. */
  private readonly impl: HostGenerateKernel | WebGpuGenerateKernel | TensorTables;

  constructor(readonly m: MaterializedPlan, kernel: GeneratorKernel = 'auto') {
    const backend = tf.getBackend();
    const chosen = kernel !== 'auto' ? kernel : HOST_MEMORY_BACKENDS.includes(backend) ? 'host' : backend === 'webgpu' ? 'webgpu' : 'tensor';
    this.impl = chosen === 'host' ? new HostGenerateKernel(m) : chosen === 'webgpu' ? new WebGpuGenerateKernel(m) : new TensorTables(m);
  }

  get kernel(): 'host' | 'webgpu' | 'tensor' {
    return this.impl instanceof HostGenerateKernel ? 'host' : this.impl instanceof WebGpuGenerateKernel ? 'webgpu' : 'tensor';
  }

  /** All generated kernels (in plan order, with their shapes), differentiable w.r.t. the ring. */
  generate(ring: tf.Tensor1D): tf.Tensor[] {
    return this.impl.run(ring);
  }

  dispose(): void {
    this.impl.dispose();
  }
}

/** The tensor-op path's constant tables, on the backend. */
class TensorTables {
  private readonly index: tf.Tensor2D;
  private readonly signScale: tf.Tensor1D;
  /** The ⌊N/M⌋ complete rows of the gradient table: every entry's first uses. */
  private readonly fullRows: tf.Tensor2D;
  private readonly fullOnes: tf.Tensor2D;
  /** The last, partial row (N mod M uses), as positions plus a 0/1 mask for missing entries. */
  private readonly lastRow: { readonly index: tf.Tensor2D; readonly mask: tf.Tensor1D } | undefined;
  private readonly sizes: number[];
  private readonly shapes: number[][];

  constructor(private readonly m: MaterializedPlan) {
    const N = m.index.length;
    const M = m.plan.ringSize;
    const q = Math.floor(N / M);
    // gatherND with [N, 1] indices: on wasm it is 10–20× faster than GatherV2 (measured).
    this.index = tf.tensor2d(m.index, [N, 1], 'int32');
    this.signScale = tf.tensor1d(m.signScale, 'float32');
    this.fullRows = tf.tensor2d(m.gradGather.subarray(0, q * M), [q * M, 1], 'int32');
    this.fullOnes = tf.ones([q, 1]);
    this.sizes = m.plan.layers.map((l) => l.size);
    this.shapes = m.plan.layers.map((l) => [...l.param.shape]);
    if (m.rows > q) {
      // Missing entries point at position 0 and are masked out: no zero slot, so the gradient
      // needs no concat (a copy of all N values) before its gather.
      const last = m.gradGather.subarray(q * M, (q + 1) * M);
      this.lastRow = {
        index: tf.tensor2d(last.map((p) => (p === N ? 0 : p)), [M, 1], 'int32'),
        mask: tf.tensor1d(Float32Array.from(last, (p) => (p === N ? 0 : 1))),
      };
    }
  }

  /** The flat signScale ⊙ ring[index], split into the plan's layers and shaped. */
  run(ring: tf.Tensor1D): tf.Tensor[] {
    const flat = this.generateFlat(ring);
    const parts = this.sizes.length === 1 ? [flat] : tf.split(flat, this.sizes);
    return parts.map((p, i) => tf.reshape(p, this.shapes[i]!));
  }

  private generateFlat(ring: tf.Tensor1D): tf.Tensor1D {
    const { index, signScale, fullRows, fullOnes, lastRow } = this;
    const M = this.m.plan.ringSize;
    const q = fullOnes.shape[0];
    const f = withCustomGrad(([r]) => ({
      value: tf.mul(tf.gatherND(r!, index), signScale) as tf.Tensor1D,
      gradFunc: (dy: tf.Tensor) => {
        const g = tf.mul(dy, signScale);
        const table = tf.reshape(tf.gatherND(g, fullRows), [q, M]) as tf.Tensor2D;
        // Column sums as tableᵀ·ones: the table is the matmul's input, never re-packed weights.
        const sums = tf.reshape(tf.matMul(table, fullOnes, true, false), [M]);
        return lastRow ? tf.add(sums, tf.mul(tf.gatherND(g, lastRow.index), lastRow.mask)) : sums;
      },
    }));
    return f(ring) as tf.Tensor1D;
  }

  dispose(): void {
    tf.dispose([this.index, this.signScale, this.fullRows, this.fullOnes, ...(this.lastRow ? [this.lastRow.index, this.lastRow.mask] : [])]);
  }
}
