// Optional native convolutions on the wasm backend: native/rpg_onednn.cc (oneDNN, the library
// PyTorch's CPU build uses) computes conv forward, input gradient and filter gradient in place on
// tfjs-wasm's heap, registered as three tfjs kernels. Built by scripts/build-native.mjs where
// libdnnl-dev is installed; absent (or RPG_ONEDNN=0), ops.ts keeps tfjs-wasm's XNNPACK path.
// Results differ from that path by float rounding only. (A run records the backend, 'wasm', not
// which convolutions ran: `rpg info` and the trainer's backend detail say that.)
//
// Threads: RPG_THREADS (a whole number ≥ 1; default: every core, os.availableParallelism()) sets
// how many threads the oneDNN primitives run on. For a fixed count a run repeats bit for bit;
// another count can split the filter-gradient sums differently (last-bit float differences,
// like PyTorch's with torch.set_num_threads). tfjs-wasm's own kernels stay on one thread.
import * as fs from 'node:fs';
import * as os from 'node:os';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { wasmHeapOf } from './wasm-heap';

export interface Addon {
  conv2d(heap: ArrayBuffer, kind: number, geometry: Int32Array, a: number, b: number, out: number): void;
  /** Training batch norm over n,h,w of nhwc: kind 0 forward (x, γ, β → y, mean, variance), 1 backward (x, mean, variance, dy, γ, β → dx, dγ, dβ). */
  batchNorm(heap: ArrayBuffer, kind: number, shape: Int32Array, eps: number, offsets: Float64Array): void;
  /** ReLU over count floats: kind 0 forward (x → y), 1 backward (x, dy → dy·[x > 0]). */
  relu(heap: ArrayBuffer, kind: number, count: number, offsets: Float64Array): void;
  /** Sets the thread count of later calls; returns it (0: this oneDNN build's own default). */
  threads(n: number): number;
  version(): string;
}

/** n, h, w, cin, kh, kw, cout, strideH, strideW, padTop, padLeft, padBottom, padRight. */
export type ConvGeometry = readonly [number, number, number, number, number, number, number, number, number, number, number, number, number];

/** Forward, input gradient, filter gradient (bench/kernel-profile.ts names them too). */
export const NATIVE_CONV_KERNELS = ['RpgOneDnnConv2D', 'RpgOneDnnConv2DInputGrad', 'RpgOneDnnConv2DFilterGrad'] as const;
/** Training batch norm forward and backward. */
export const NATIVE_BATCH_NORM_KERNELS = ['RpgOneDnnBatchNorm', 'RpgOneDnnBatchNormGrad'] as const;
/** ReLU forward and backward. */
export const NATIVE_RELU_KERNELS = ['RpgOneDnnRelu', 'RpgOneDnnReluGrad'] as const;
/** Inputs of the batch-norm kernels, in the addon's order (its outputs follow them). */
const BATCH_NORM_INPUTS = [['x', 'gamma', 'beta'], ['x', 'mean', 'variance', 'dy', 'gamma', 'beta']] as const;
const KERNELS = NATIVE_CONV_KERNELS;
const ADDON_RELATIVE_PATH = path.join('build', 'native', 'rpg_onednn.node');

let addon: Addon | null | undefined;
let problem = '';
let activeThreads = 1;

/** RPG_THREADS, or every core. A bad value is an error that names the variable. */
export function threadSetting(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env['RPG_THREADS'];
  if (raw === undefined || raw.trim() === '') return os.availableParallelism();
  const n = Number(raw.trim());
  if (!Number.isInteger(n) || n < 1 || n > 4096) throw new Error(`RPG_THREADS must be a whole number from 1 to 4096 (the threads the oneDNN kernels run on), not "${raw}"`);
  return n;
}

/** The built addon: searched from this file up (source tree, dist/ bundle). */
function addonFile(): string | undefined {
  let dir = __dirname;
  for (let i = 0; i < 4; i++) {
    const file = path.join(dir, ADDON_RELATIVE_PATH);
    if (fs.existsSync(file)) return file;
    dir = path.dirname(dir);
  }
  return undefined;
}

function loadAddon(): Addon | null {
  if (addon !== undefined) return addon;
  addon = null;
  if (process.env['RPG_ONEDNN'] === '0') {
    problem = 'off (RPG_ONEDNN=0)';
    return null;
  }
  const file = addonFile();
  if (!file) {
    problem = 'not built (libdnnl-dev was not installed when npm ran scripts/build-native.mjs)';
    return null;
  }
  const threads = threadSetting();
  // OpenMP sizes its thread pool from this when libdnnl loads; the addon sets the count per call too.
  process.env['OMP_NUM_THREADS'] = String(threads);
  try {
    const loaded = createRequire(__filename)(file) as Addon;
    activeThreads = loaded.threads(threads);
    addon = loaded;
  } catch (err) {
    problem = `${file} failed to load: ${String((err as Error).message).split('\n')[0]}`;
  }
  return addon;
}

function outputShape(kind: number, g: ConvGeometry): number[] {
  const [n, h, w, cin, kh, kw, cout, sh, sw, pt, pl, pb, pr] = g;
  const oh = Math.floor((h + pt + pb - kh) / sh) + 1;
  const ow = Math.floor((w + pl + pr - kw) / sw) + 1;
  return kind === 0 ? [n, oh, ow, cout] : kind === 1 ? [n, h, w, cin] : [kh, kw, cin, cout];
}

function kernelFunc(native: Addon, kind: number): tf.KernelFunc {
  return ({ inputs, backend, attrs }) => {
    const heap = wasmHeapOf(backend as tf.KernelBackend);
    if (!heap) throw new Error(`${KERNELS[kind]}: the wasm backend's heap is not reachable`);
    const g = attrs!['geometry'] as unknown as ConvGeometry;
    const a = inputs['a'] as tf.TensorInfo;
    const c = inputs['b'] as tf.TensorInfo;
    // Inputs still on another backend move here on first access and the output allocation can
    // grow the heap: offsets and the heap's buffer are read after all of them.
    heap.view(a);
    heap.view(c);
    const out = heap.alloc(outputShape(kind, g));
    native.conv2d(heap.memory.buffer, kind, Int32Array.from(g), heap.view(a).byteOffset, heap.view(c).byteOffset, heap.view(out).byteOffset);
    return out;
  };
}

/** Batch norm kind 0 or 1: three outputs, [n,h,w,c] then two [c] (y, mean, variance or dx, dγ, dβ). */
function batchNormKernelFunc(native: Addon, kind: number): tf.KernelFunc {
  return ({ inputs, backend, attrs }) => {
    const heap = wasmHeapOf(backend as tf.KernelBackend);
    if (!heap) throw new Error(`${NATIVE_BATCH_NORM_KERNELS[kind]}: the wasm backend's heap is not reachable`);
    const ins = BATCH_NORM_INPUTS[kind]!.map((name) => inputs[name] as tf.TensorInfo);
    const x = ins[0]!;
    const c = x.shape[3]!;
    for (const t of ins) heap.view(t); // moves inputs here first (see kernelFunc)
    const outs = [heap.alloc(x.shape), heap.alloc([c]), heap.alloc([c])];
    const offsets = Float64Array.from([...ins, ...outs], (t) => heap.view(t).byteOffset);
    native.batchNorm(heap.memory.buffer, kind, Int32Array.from(x.shape), attrs!['eps'] as number, offsets);
    return outs;
  };
}

/** ReLU kind 0 (x → y) or 1 (x, dy → dx), any shape. */
function reluKernelFunc(native: Addon, kind: number): tf.KernelFunc {
  return ({ inputs, backend }) => {
    const heap = wasmHeapOf(backend as tf.KernelBackend);
    if (!heap) throw new Error(`${NATIVE_RELU_KERNELS[kind]}: the wasm backend's heap is not reachable`);
    const ins = (kind === 0 ? ['x'] : ['x', 'dy']).map((name) => inputs[name] as tf.TensorInfo);
    for (const t of ins) heap.view(t); // moves inputs here first (see kernelFunc)
    const out = heap.alloc(ins[0]!.shape);
    const offsets = Float64Array.from([...ins, out], (t) => heap.view(t).byteOffset);
    native.relu(heap.memory.buffer, kind, tf.util.sizeFromShape(ins[0]!.shape), offsets);
    return out;
  };
}

/**
 * Identity sharing its input's storage (a reference count, as tfjs-cpu's Identity and tfjs-wasm's
 * own Reshape do) where tfjs-wasm copies: tfjs clones every tensor a gradient saves, so the copy
 * cost ~9% of a ResNet-20 step. Tensors are immutable and every kernel here writes only its fresh
 * outputs, so a shared buffer is never written through the other name.
 */
function sharedIdentity({ inputs, backend }: Parameters<tf.KernelFunc>[0]): tf.TensorInfo {
  const x = inputs['x'] as tf.TensorInfo;
  (backend as unknown as { incRef(dataId: tf.DataId): void }).incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
}

let registered = false;
let switchedOff = false;

/** Tests run the tfjs-wasm convolution path too (the one a .vsix install trains on). */
export function setNativeConvolutions(on: boolean): void {
  switchedOff = !on;
}

/** oneDNN convolutions for the current backend, or undefined (not wasm, or no addon). */
export function nativeConvolutions(): NativeConvolutions | undefined {
  if (switchedOff || tf.getBackend() !== 'wasm') return undefined;
  const native = loadAddon();
  if (!native) return undefined;
  if (!registered) {
    if (!wasmHeapOf(tf.backend())) return undefined; // e.g. a threaded build's shared memory
    KERNELS.forEach((kernelName, kind) => tf.registerKernel({ kernelName, backendName: 'wasm', kernelFunc: kernelFunc(native, kind) }));
    if (typeof (tf.backend() as unknown as { incRef?: unknown }).incRef === 'function') {
      tf.unregisterKernel('Identity', 'wasm');
      tf.registerKernel({ kernelName: 'Identity', backendName: 'wasm', kernelFunc: sharedIdentity as tf.KernelFunc });
    }
    NATIVE_RELU_KERNELS.forEach((kernelName, kind) => tf.registerKernel({ kernelName, backendName: 'wasm', kernelFunc: reluKernelFunc(native, kind) }));
    NATIVE_BATCH_NORM_KERNELS.forEach((kernelName, kind) => tf.registerKernel({ kernelName, backendName: 'wasm', kernelFunc: batchNormKernelFunc(native, kind) }));
    registered = true;
  }
  return NATIVE;
}

export interface NativeConvolutions {
  /** y = conv(x, w). */
  forward(x: tf.Tensor4D, w: tf.Tensor4D, g: ConvGeometry): tf.Tensor4D;
  /** dx from dy and w. */
  inputGrad(dy: tf.Tensor4D, w: tf.Tensor4D, g: ConvGeometry): tf.Tensor4D;
  /** dw from x and dy. */
  filterGrad(x: tf.Tensor4D, dy: tf.Tensor4D, g: ConvGeometry): tf.Tensor4D;
  /** max(x, 0). */
  relu(x: tf.Tensor): tf.Tensor;
  /** dy·[x > 0]. */
  reluGrad(x: tf.Tensor, dy: tf.Tensor): tf.Tensor;
  /** Training batch norm: y, and the batch mean and (biased) variance per channel. */
  batchNorm(x: tf.Tensor4D, gamma: tf.Tensor1D, beta: tf.Tensor1D, eps: number): [tf.Tensor4D, tf.Tensor1D, tf.Tensor1D];
  /** Its gradients dx, dγ, dβ from the forward's x, mean, variance, γ and β (unused: both directions take the same parameters). */
  batchNormGrad(x: tf.Tensor4D, mean: tf.Tensor1D, variance: tf.Tensor1D, dy: tf.Tensor4D, gamma: tf.Tensor1D, beta: tf.Tensor1D, eps: number): [tf.Tensor4D, tf.Tensor1D, tf.Tensor1D];
}

const run = (kind: number, a: tf.Tensor, b: tf.Tensor, g: ConvGeometry) => tf.engine().runKernel(KERNELS[kind]!, { a, b }, { geometry: [...g] }) as tf.Tensor4D;

const NATIVE: NativeConvolutions = {
  forward: (x, w, g) => run(0, x, w, g),
  inputGrad: (dy, w, g) => run(1, dy, w, g),
  filterGrad: (x, dy, g) => run(2, x, dy, g),
  relu: (x) => tf.engine().runKernel(NATIVE_RELU_KERNELS[0], { x }, {}) as tf.Tensor,
  reluGrad: (x, dy) => tf.engine().runKernel(NATIVE_RELU_KERNELS[1], { x, dy }, {}) as tf.Tensor,
  batchNorm: (x, gamma, beta, eps) => tf.engine().runKernel(NATIVE_BATCH_NORM_KERNELS[0], { x, gamma, beta }, { eps }) as unknown as [tf.Tensor4D, tf.Tensor1D, tf.Tensor1D],
  batchNormGrad: (x, mean, variance, dy, gamma, beta, eps) => tf.engine().runKernel(NATIVE_BATCH_NORM_KERNELS[1], { x, mean, variance, dy, gamma, beta }, { eps }) as unknown as [tf.Tensor4D, tf.Tensor1D, tf.Tensor1D],
};

/** Threads the addon's oneDNN kernels run on (1 without the addon: tfjs-wasm is single-threaded; 0: oneDNN's own default). */
export function computeThreads(): number {
  return loadAddon() ? activeThreads : 1;
}

/** The loaded addon itself (tests call it with bad arguments), or undefined. */
export function nativeAddon(): Addon | undefined {
  return loadAddon() ?? undefined;
}

/** What the wasm backend's convolutions run on, for backend details and the bench. */
export function nativeConvStatus(): { active: boolean; detail: string } {
  const native = loadAddon();
  const threads = activeThreads === 0 ? "oneDNN's default threads" : `${activeThreads} thread${activeThreads === 1 ? '' : 's'} (RPG_THREADS)`;
  return native ? { active: true, detail: `convolutions and ReLU on oneDNN ${native.version()}, batch norm in the addon, ${threads}` } : { active: false, detail: `oneDNN convolutions ${problem}` };
}
