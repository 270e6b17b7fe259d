// Optional native convolutions on the wasm backend: native/rpg_onednn.cc (oneDNN, the library
// PyTorch's CPU build uses) computes conv forward, input gradient and filter gradient in place on
// tfjs-wasm's heap, registered as three tfjs kernels. Built by scripts/build-native.mjs where
// libdnnl-dev is installed; absent (or RPG_ONEDNN=0), ops.ts keeps tfjs-wasm's XNNPACK path.
// Results differ from that path by float rounding only. (A run records the backend, 'wasm', not
// which convolutions ran: `rpg info` and the trainer's backend detail say that.)
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { wasmHeapOf } from './wasm-heap';

export interface Addon {
  conv2d(heap: ArrayBuffer, kind: number, geometry: Int32Array, a: number, b: number, out: number): void;
  version(): string;
}

/** n, h, w, cin, kh, kw, cout, strideH, strideW, padTop, padLeft, padBottom, padRight. */
export type ConvGeometry = readonly [number, number, number, number, number, number, number, number, number, number, number, number, number];

/** Forward, input gradient, filter gradient (bench/kernel-profile.ts names them too). */
export const NATIVE_CONV_KERNELS = ['RpgOneDnnConv2D', 'RpgOneDnnConv2DInputGrad', 'RpgOneDnnConv2DFilterGrad'] as const;
const KERNELS = NATIVE_CONV_KERNELS;
const ADDON_RELATIVE_PATH = path.join('build', 'native', 'rpg_onednn.node');

let addon: Addon | null | undefined;
let problem = '';

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
  // One thread, like the wasm backend (and the bench's PyTorch reference); oneDNN's OpenMP
  // runtime reads this when the library loads. A value the user set is kept.
  process.env['OMP_NUM_THREADS'] ??= '1';
  try {
    addon = createRequire(__filename)(file) as Addon;
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
}

const run = (kind: number, a: tf.Tensor, b: tf.Tensor, g: ConvGeometry) => tf.engine().runKernel(KERNELS[kind]!, { a, b }, { geometry: [...g] }) as tf.Tensor4D;

const NATIVE: NativeConvolutions = {
  forward: (x, w, g) => run(0, x, w, g),
  inputGrad: (dy, w, g) => run(1, dy, w, g),
  filterGrad: (x, dy, g) => run(2, x, dy, g),
};

/** Threads the training step computes on: the addon's oneDNN convolutions run on one thread. */
export function computeThreads(): number {
  return 1;
}

/** The loaded addon itself (tests call it with bad arguments), or undefined. */
export function nativeAddon(): Addon | undefined {
  return loadAddon() ?? undefined;
}

/** What the wasm backend's convolutions run on, for backend details and the bench. */
export function nativeConvStatus(): { active: boolean; detail: string } {
  const native = loadAddon();
  return native ? { active: true, detail: `convolutions on oneDNN ${native.version()}` } : { active: false, detail: `oneDNN convolutions ${problem}` };
}
