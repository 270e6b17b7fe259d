// Ring generation and its gradient on the webgpu backend: two small compute shaders run through
// tfjs-backend-webgpu's own program runner, so everything stays on the device.
//   generate: one dispatch per generated layer, out[k] = signScale[o+k] · ring[index[o+k]],
//             written straight into that layer's own tensor (no flat tensor split afterwards:
//             webgpu has no views, a split copies every weight once more).
//   gradient: one thread per ring entry j sums signScale[p] · dW[p] over j's uses p, read from
//             the plan's (rows × M) use table (gradGather) in a fixed order.
// Measured on lavapipe against the alternatives (scratch study, see the README's GPU section):
// tfjs's UnsortedSegmentSum and ScatterNd are 1.4–4.5× slower and, adding with atomics, not
// deterministic (a repeated gradient differs in the last bits); the table + matmul form of the
// tensor-op path is 5–18× slower.
import * as tf from '@tensorflow/tfjs-core';
import type { MaterializedPlan } from '../../core/rpg/materialize';

export const GPU_GENERATE_KERNEL = 'RpgRingGenerateWebGpu';
export const GPU_GENERATE_GRAD_KERNEL = 'RpgRingGenerateWebGpuGrad';

/** The generator's constant tables, resident on the device. */
interface DeviceTables {
  readonly m: MaterializedPlan;
  readonly index: tf.Tensor1D;
  readonly signScale: tf.Tensor1D;
  /** gradGather: rows × M positions of the uses of each entry; N marks a missing use. */
  readonly uses: tf.Tensor1D;
}

// Kernel attributes must be plain values: each generator's tables are looked up by id.
const tablesById = new Map<number, DeviceTables>();
let nextId = 1;

function tablesOf(attrs: tf.NamedAttrMap | undefined): DeviceTables {
  const t = tablesById.get(attrs?.['tables'] as number);
  if (!t) throw new Error(`${GPU_GENERATE_KERNEL}: generator ${String(attrs?.['tables'])} was disposed`);
  return t;
}

/** What tfjs-backend-webgpu's runWebGPUProgram needs of a program (its WebGPUProgram). */
interface Program {
  readonly variableNames: string[];
  readonly outputShape: number[];
  readonly shaderKey: string;
  readonly dispatchLayout: { x: number[] };
  readonly dispatch: [number, number, number];
  readonly workgroupSize: [number, number, number];
  /** Adds `size` (the output's element count) to the uniforms. */
  readonly size: boolean;
  /** Extra uniform fields, declared in WGSL. */
  readonly uniforms: string;
  getUserCode(): string;
}

interface WebGpuBackendLike extends tf.KernelBackend {
  runWebGPUProgram(program: Program, inputs: tf.TensorInfo[], dtype: tf.DataType, uniforms?: { type: 'int32' | 'float32'; data: number[] }[]): tf.TensorInfo;
}

interface DispatchUtil {
  flatDispatchLayout(shape: number[]): { x: number[] };
  computeDispatch(layout: { x: number[] }, shape: number[], workgroupSize: [number, number, number]): [number, number, number];
}

// Loaded on first use: the package registers its backend when it loads, which must happen
// after Dawn is installed as navigator.gpu (backend.ts does that first).
function dispatchUtil(): DispatchUtil {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (require('@tensorflow/tfjs-backend-webgpu') as { webgpu_util: DispatchUtil }).webgpu_util;
}

/** A one-thread-per-output program over a flat layout. */
function flatProgram(shaderKey: string, variableNames: string[], outputShape: number[], uniforms: string, body: string): Program {
  const util = dispatchUtil();
  const workgroupSize: [number, number, number] = [64, 1, 1];
  const dispatchLayout = util.flatDispatchLayout(outputShape);
  return {
    variableNames, outputShape, shaderKey, dispatchLayout, workgroupSize, size: true, uniforms,
    dispatch: util.computeDispatch(dispatchLayout, outputShape, workgroupSize),
    // tfjs's shader prelude declares the inputs as arrays named after variableNames, `uniforms`,
    // setOutputAtIndex, and calls main(global index).
    getUserCode: () => `
      fn main(i : i32) {
        if (i < uniforms.size) {
          ${body}
        }
      }`,
  };
}

const generateKernel: tf.KernelFunc = ({ inputs, backend, attrs }) => {
  const t = tablesOf(attrs);
  const b = backend as WebGpuBackendLike;
  const ring = inputs['ring'] as tf.TensorInfo;
  return t.m.plan.layers.map((layer) =>
    b.runWebGPUProgram(
      flatProgram('rpgRingGenerate', ['ring', 'index', 'signScale'], [...layer.param.shape], 'offset : i32,', 'let p = uniforms.offset + i;\n          setOutputAtIndex(i, signScale[p] * ring[index[p]]);'),
      [ring, t.index, t.signScale],
      'float32',
      [{ type: 'int32', data: [layer.offset] }],
    ),
  );
};

/** dRing[j] = Σ over the uses p of entry j of signScale[p] · dW[p]; dW is the flat [N] gradient. */
const gradKernel: tf.KernelFunc = ({ inputs, backend, attrs }) => {
  const t = tablesOf(attrs);
  const N = t.m.index.length;
  const M = t.m.plan.ringSize;
  const body = `var acc = 0.0;
          for (var r = 0; r < uniforms.rows; r++) {
            let p = uses[r * uniforms.size + i];
            if (p < uniforms.n) { acc = acc + signScale[p] * dW[p]; }
          }
          setOutputAtIndex(i, acc);`;
  return (backend as WebGpuBackendLike).runWebGPUProgram(
    flatProgram('rpgRingGenerateGrad', ['dW', 'uses', 'signScale'], [M], 'rows : i32, n : i32,', body),
    [inputs['dW'] as tf.TensorInfo, t.uses, t.signScale],
    'float32',
    [{ type: 'int32', data: [t.m.rows] }, { type: 'int32', data: [N] }],
  );
};

const gradFunc: tf.GradFunc = (dy, _saved, attrs) => {
  const dys = Array.isArray(dy) ? dy : [dy];
  return {
    ring: () => {
      // One flat [N] gradient in plan order (the layers are consecutive): one copy, then one pass.
      const flat = dys.length === 1 ? tf.reshape(dys[0]!, [-1]) : tf.concat(dys.map((d) => tf.reshape(d, [-1])));
      return tf.engine().runKernel(GPU_GENERATE_GRAD_KERNEL, { dW: flat }, attrs) as tf.Tensor;
    },
  };
};

let registered = false;

function register(): void {
  if (registered) return;
  tf.registerKernel({ kernelName: GPU_GENERATE_KERNEL, backendName: 'webgpu', kernelFunc: generateKernel });
  tf.registerKernel({ kernelName: GPU_GENERATE_GRAD_KERNEL, backendName: 'webgpu', kernelFunc: gradKernel });
  tf.registerGradient({ kernelName: GPU_GENERATE_KERNEL, gradFunc });
  registered = true;
}

/** The webgpu generation kernels bound to one materialized plan; its tables live on the device. */
export class WebGpuGenerateKernel {
  private readonly id = nextId++;

  constructor(m: MaterializedPlan) {
    register();
    const tables: DeviceTables = {
      m,
      index: tf.keep(tf.tensor1d(m.index, 'int32')),
      signScale: tf.keep(tf.tensor1d(m.signScale, 'float32')),
      uses: tf.keep(tf.tensor1d(m.gradGather, 'int32')),
    };
    tablesById.set(this.id, tables);
  }

  /** Every generated kernel, in plan order and shaped; differentiable w.r.t. the ring. */
  run(ring: tf.Tensor1D): tf.Tensor[] {
    const out = tf.engine().runKernel(GPU_GENERATE_KERNEL, { ring }, { tables: this.id }) as tf.Tensor | tf.Tensor[];
    return Array.isArray(out) ? out : [out];
  }

  dispose(): void {
    const t = tablesById.get(this.id);
    if (t) tf.dispose([t.index, t.signScale, t.uses]);
    tablesById.delete(this.id);
  }
}
