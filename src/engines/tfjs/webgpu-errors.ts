// WebGPU reports failures asynchronously on the device, never as exceptions: a buffer it could
// not allocate, or a tensor larger than the adapter's storage-binding limit, makes every kernel
// that touches it a no-op and training goes on with zeros (measured: a 160 MB tensor on lavapipe
// summed to 0). So the device's errors are collected here and the training loop checks them
// after every step it has read back, turning the first one into a clear error.
import type * as tf from '@tensorflow/tfjs-core';

export interface GpuFailure {
  /** The device, as the backend's choice names it ("webgpu · NVIDIA GeForce RTX 4090"). */
  readonly device: string;
  /** 'memory': out of memory or over a buffer-size limit (a smaller batch helps); 'lost': the
   * device is gone (driver reset, GPU removed); 'error': anything else the device rejected. */
  readonly kind: 'memory' | 'lost' | 'error';
  /** The first line of the device's message. */
  readonly message: string;
}

interface ErrorEventLike {
  readonly error?: { readonly message?: string; readonly constructor?: { readonly name?: string } };
}
interface DeviceLike {
  addEventListener?(type: 'uncapturederror', listener: (event: ErrorEventLike) => void): void;
  readonly lost?: Promise<{ readonly reason?: string; readonly message?: string }>;
}

let first: GpuFailure | undefined;
const watched = new WeakSet<object>();

/** Starts collecting the errors of the webgpu backend's device (once per device). */
export function watchGpuErrors(backend: tf.KernelBackend, deviceName: string): void {
  const device = (backend as unknown as { device?: DeviceLike }).device;
  if (!device || watched.has(device)) return;
  watched.add(device);
  device.addEventListener?.('uncapturederror', (event) => {
    first ??= { device: deviceName, ...classify(event.error?.constructor?.name ?? '', event.error?.message ?? 'unknown GPU error') };
  });
  void device.lost?.then((info) => {
    // tfjs destroys its device only when the backend is disposed (process exit, tests).
    if (info.reason !== 'destroyed') first ??= { device: deviceName, kind: 'lost', message: `the GPU device was lost: ${firstLine(info.message ?? info.reason ?? 'no reason given')}` };
  });
}

/** The first failure since the last call, if any (and forgets it). */
export function takeGpuFailure(): GpuFailure | undefined {
  const f = first;
  first = undefined;
  return f;
}

export function classify(errorClass: string, message: string): Omit<GpuFailure, 'device'> {
  const line = firstLine(message);
  if (errorClass === 'GPUOutOfMemoryError' || /out of memory/i.test(line)) return { kind: 'memory', message: `out of GPU memory (${line})` };
  // Over the adapter's limits: maxStorageBufferBindingSize / maxBufferSize. A batch-size matter too.
  if (/larger than the maximum (storage|uniform) buffer binding size|exceeds the max(imum)? buffer size|size .* is too large/i.test(line)) return { kind: 'memory', message: `a tensor exceeds this adapter's buffer limits (${line})` };
  return { kind: 'error', message: `the GPU rejected a command (${errorClass || 'error'}: ${line})` };
}

function firstLine(s: string): string {
  return s.trim().split('\n')[0]!.trim();
}
