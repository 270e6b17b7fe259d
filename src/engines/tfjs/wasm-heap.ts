// Our kernels' direct access to tfjs-wasm's heap: the backend's own WebAssembly.Memory (the ring
// loops import it, the oneDNN addon reads and writes it), its tensors' storage and Emscripten's
// allocator. None of this is in tfjs's typings, so it is checked once per backend instance.
import * as tf from '@tensorflow/tfjs-core';

export interface WasmHeap {
  /** The backend's memory: unshared (a threaded build's shared memory is not supported). */
  readonly memory: WebAssembly.Memory;
  /** A new float32 tensor on the heap; its contents are undefined until written through view(). */
  alloc(shape: readonly number[]): tf.TensorInfo;
  /** The tensor's storage on the heap. Any allocation can grow the heap and detach earlier views. */
  view(info: tf.TensorInfo): Float32Array;
  malloc(bytes: number): number;
  free(ptr: number): void;
}

interface WasmBackendInternals {
  makeOutput(shape: number[], dtype: 'float32'): tf.TensorInfo;
  typedArrayFromHeap(info: tf.TensorInfo): Float32Array;
  wasm?: { asm?: { memory?: unknown }; _malloc?: (n: number) => number; _free?: (p: number) => void };
}

const heaps = new WeakMap<tf.KernelBackend, WasmHeap | null>();

/** The heap of a tfjs-wasm backend, or undefined for any other backend. */
export function wasmHeapOf(backend: tf.KernelBackend): WasmHeap | undefined {
  let heap = heaps.get(backend);
  if (heap === undefined) heaps.set(backend, (heap = makeHeap(backend as unknown as Partial<WasmBackendInternals>)));
  return heap ?? undefined;
}

function makeHeap(b: Partial<WasmBackendInternals>): WasmHeap | null {
  const memory = b.wasm?.asm?.memory;
  const { _malloc: malloc, _free: free } = b.wasm ?? {};
  if (typeof b.makeOutput !== 'function' || typeof b.typedArrayFromHeap !== 'function' || typeof malloc !== 'function' || typeof free !== 'function') return null;
  if (!(memory instanceof WebAssembly.Memory) || !(memory.buffer instanceof ArrayBuffer)) return null;
  const backend = b as WasmBackendInternals;
  return {
    memory,
    alloc: (shape) => backend.makeOutput([...shape], 'float32'),
    view: (info) => {
      try {
        return backend.typedArrayFromHeap(info);
      } catch {
        // Data still on another backend moves here on first access, after tfjs read the heap's
        // buffer: when the move grew the heap, that buffer is detached. Once moved, it is not.
        return backend.typedArrayFromHeap(info);
      }
    },
    malloc,
    free,
  };
}
