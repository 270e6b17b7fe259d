// Generation as one kernel for backends whose tensors live in host memory (cpu, wasm). One loop
// over the index reads the ring once and writes every generated kernel straight into its own
// output, and the ring gradient is one scatter-add pass; no gatherND, mul or split (tfjs-wasm's
// Slice copies element by element), and a step allocates no JS arrays. On wasm the loops are
// compiled WebAssembly working in the backend's own heap (wasm-ring-loops.ts, 4–5× faster than
// the same loops in JS); on cpu, and wherever that module cannot bind, they run as JS.
// GPU and native backends keep the tensor-op path in ring-generator.ts: reading their tensors
// back would stall the device.
import * as tf from '@tensorflow/tfjs-core';
import type { MaterializedPlan } from '../../core/rpg/materialize';
import { wasmHeapOf, WasmHeap } from './wasm-heap';
import { RingLoops, ringLoopsFor, signedIndex } from './wasm-ring-loops';

export const GENERATE_KERNEL = 'RpgRingGenerate';
export const GENERATE_GRAD_KERNEL = 'RpgRingGenerateGrad';
export const HOST_MEMORY_BACKENDS: readonly string[] = ['cpu', 'wasm'];

interface Tables {
  /** The plan's index, signs and layers (offset, size, shape, c_l): read, never copied. */
  readonly m: MaterializedPlan;
  /** The signed index copied into a wasm heap (see wasm-ring-loops.ts), by backend; freed on dispose. */
  readonly heapIndex: Map<WasmLoops, number>;
}

// Kernel attributes must be plain values, so each generator's tables are looked up by id.
const tablesById = new Map<number, Tables>();
let nextId = 1;

function tablesOf(attrs: tf.NamedAttrMap | undefined): Tables {
  const t = tablesById.get(attrs?.['tables'] as number);
  if (!t) throw new Error(`${GENERATE_KERNEL}: generator ${String(attrs?.['tables'])} was disposed`);
  return t;
}

/** Direct access to a host-memory backend's float32 storage. */
interface HostMemory {
  /** A new float32 tensor; its contents are undefined until written through view(). */
  alloc(shape: readonly number[]): tf.TensorInfo;
  /** The tensor's storage. On wasm a view of the heap: take views only after the last alloc. */
  view(info: tf.TensorInfo): Float32Array;
  /** On wasm: the loops compiled against the backend's own memory (absent: JS loops). */
  readonly wasm?: WasmLoops;
}

/** The ring loops compiled against one tfjs-wasm backend's memory, with that heap. */
interface WasmLoops {
  readonly loops: RingLoops;
  readonly heap: WasmHeap;
}

// One accessor per backend instance, made on its first kernel call rather than on every call.
const hostMemoryOf = new WeakMap<tf.KernelBackend, HostMemory>();

function hostMemory(backend: tf.KernelBackend): HostMemory {
  let mem = hostMemoryOf.get(backend);
  if (!mem) hostMemoryOf.set(backend, (mem = makeHostMemory(backend)));
  return mem;
}

function makeHostMemory(backend: tf.KernelBackend): HostMemory {
  const heap = wasmHeapOf(backend);
  if (heap) return { alloc: heap.alloc, view: heap.view, wasm: wasmLoopsOf(heap) };
  // The cpu path below writes readSync's array in place; on wasm that is a copy.
  if (backend !== tf.findBackend('cpu')) throw new Error(`${GENERATE_KERNEL}: this backend's tensor storage is not reachable (a tfjs-wasm build with shared memory?)`);
  // cpu: readSync hands back the stored array itself, so writing it fills the new tensor.
  return {
    alloc: (shape) => ({ dataId: backend.write(new Float32Array(tf.util.sizeFromShape([...shape])), [...shape], 'float32'), shape: [...shape], dtype: 'float32' }),
    view: (info) => backend.readSync(info.dataId) as Float32Array,
  };
}

/** Which loops the host kernel runs on the current backend: compiled wasm or JS (for tests and
 * the bench's report). */
export function hostLoopsKind(): 'wasm' | 'js' {
  return hostMemory(tf.backend()).wasm ? 'wasm' : 'js';
}

/** The loops bound to the heap's memory; undefined (JS loops run) if WebAssembly refuses them. */
function wasmLoopsOf(heap: WasmHeap): WasmLoops | undefined {
  try {
    return { loops: ringLoopsFor(heap.memory), heap };
  } catch {
    return undefined;
  }
}

/** Byte address of the generator's signed index in the wasm heap, copied there on first use. */
function heapIndexOf(t: Tables, w: WasmLoops): number {
  let ptr = t.heapIndex.get(w);
  if (ptr === undefined) {
    const n = t.m.index.length;
    ptr = w.heap.malloc(4 * n);
    if (!ptr) throw new Error(`${GENERATE_KERNEL}: the wasm heap has no room for a ${n}-entry index`);
    signedIndex(t.m.index, t.m.sign, new Int32Array(w.heap.memory.buffer, ptr, n));
    t.heapIndex.set(w, ptr);
  }
  return ptr;
}

// The two hot loops as small top-level functions: V8 optimizes these well; the same loops inlined
// in the kernels' per-layer closures ran ~2× slower inside a training step (measured).
function gatherScaled(out: Float32Array, ring: Float32Array, index: Int32Array, signScale: Float32Array, start: number, n: number): void {
  for (let k = 0; k < n; k++) out[k] = signScale[start + k]! * ring[index[start + k]!]!;
}

function scatterAddScaled(g: Float32Array, dw: Float32Array, index: Int32Array, signScale: Float32Array, start: number, n: number): void {
  for (let k = 0; k < n; k++) g[index[start + k]!] += signScale[start + k]! * dw[k]!;
}

const generateKernel: tf.KernelFunc = ({ inputs, backend, attrs }) => {
  const t = tablesOf(attrs);
  const { m } = t;
  const mem = hostMemory(backend as tf.KernelBackend);
  // Allocations first (the heap index, the outputs; moving an input here is one too): each can
  // grow the wasm heap and detach views taken before it.
  const heapIdx = mem.wasm ? heapIndexOf(t, mem.wasm) : 0;
  mem.view(inputs['ring'] as tf.TensorInfo);
  const outs = m.plan.layers.map((layer) => mem.alloc(layer.param.shape));
  const ring = mem.view(inputs['ring'] as tf.TensorInfo);
  m.plan.layers.forEach(({ offset, size, scale }, l) => {
    const out = mem.view(outs[l]!);
    if (mem.wasm) mem.wasm.loops.gather(out.byteOffset, ring.byteOffset, heapIdx + 4 * offset, size, Math.fround(scale));
    else gatherScaled(out, ring, m.index, m.signScale, offset, size);
  });
  return outs;
};

/** dRing[j] = Σ over the uses i of entry j of signScale[i] · dW[i]: one pass, O(N). */
const gradKernel: tf.KernelFunc = ({ inputs, backend, attrs }) => {
  const t = tablesOf(attrs);
  const { m } = t;
  const mem = hostMemory(backend as tf.KernelBackend);
  const heapIdx = mem.wasm ? heapIndexOf(t, mem.wasm) : 0;
  const dys = m.plan.layers.map((_, l) => inputs[`dy${l}`] as tf.TensorInfo);
  dys.forEach((dy) => mem.view(dy)); // moved here first, as above
  const out = mem.alloc([m.plan.ringSize]);
  const g = mem.view(out).fill(0);
  m.plan.layers.forEach(({ offset, size, scale }, l) => {
    const dw = mem.view(dys[l]!);
    if (mem.wasm) mem.wasm.loops.scatterAdd(g.byteOffset, dw.byteOffset, heapIdx + 4 * offset, size, Math.fround(scale));
    else scatterAddScaled(g, dw, m.index, m.signScale, offset, size);
  });
  return out;
};

const gradFunc: tf.GradFunc = (dy, _saved, attrs) => {
  const dys = Array.isArray(dy) ? dy : [dy];
  return { ring: () => tf.engine().runKernel(GENERATE_GRAD_KERNEL, Object.fromEntries(dys.map((d, l) => [`dy${l}`, d])), attrs) as tf.Tensor };
};

function register(backendName: string): void {
  if (!tf.getKernel(GENERATE_KERNEL, backendName)) tf.registerKernel({ kernelName: GENERATE_KERNEL, backendName, kernelFunc: generateKernel });
  if (!tf.getKernel(GENERATE_GRAD_KERNEL, backendName)) tf.registerKernel({ kernelName: GENERATE_GRAD_KERNEL, backendName, kernelFunc: gradKernel });
  if (!tf.getGradient(GENERATE_KERNEL)) tf.registerGradient({ kernelName: GENERATE_KERNEL, gradFunc });
}

/** The host-memory generation kernel bound to one materialized plan. */
export class HostGenerateKernel {
  private readonly id = nextId++;

  constructor(m: MaterializedPlan) {
    for (const b of HOST_MEMORY_BACKENDS) register(b);
    tablesById.set(this.id, { m, heapIndex: new Map() });
  }

  /** Every generated kernel, in plan order and shaped; differentiable w.r.t. the ring. */
  run(ring: tf.Tensor1D): tf.Tensor[] {
    const out = tf.engine().runKernel(GENERATE_KERNEL, { ring }, { tables: this.id }) as tf.Tensor | tf.Tensor[];
    return Array.isArray(out) ? out : [out];
  }

  dispose(): void {
    const t = tablesById.get(this.id);
    for (const [w, ptr] of t?.heapIndex ?? []) w.heap.free(ptr);
    tablesById.delete(this.id);
  }
}
