import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { seededTensor, useBackend } from '../helpers/tf';
import { conv2d } from '../../src/engines/tfjs/ops';
import { nativeAddon, nativeConvStatus } from '../../src/engines/tfjs/native-conv';

// CI installs libdnnl-dev and sets RPG_REQUIRE_ONEDNN=1: there the addon must be built and used.
const required = process.env['RPG_REQUIRE_ONEDNN'] === '1';
const status = nativeConvStatus();
const skip = !status.active && !required ? `oneDNN addon not available: ${status.detail}` : false;

test('oneDNN addon: built and loaded where CI requires it', { skip: !required && 'RPG_REQUIRE_ONEDNN is not set' }, () => {
  assert.ok(status.active, status.detail);
  assert.match(status.detail, /oneDNN \d+\.\d+/);
});

// Output and gradients on oneDNN against tfjs-cpu, over the conv geometries of
// train-ops.test.ts (CONV_CASES): that test runs wasm with and without the addon.

test('oneDNN addon: bad arguments are errors that say what is wrong, not a corrupted heap', { skip }, () => {
  const addon = nativeAddon()!;
  const heap = new ArrayBuffer(4096);
  const g = Int32Array.from([1, 4, 4, 2, 3, 3, 2, 1, 1, 1, 1, 1, 1]); // x 128 B, w 144 B, y 128 B
  addon.conv2d(heap, 0, g, 0, 256, 512); // fits
  assert.throws(() => addon.conv2d(heap, 0, g, 0, 256, 4000), /outside the heap/);
  assert.throws(() => addon.conv2d(heap, 0, g, -4, 256, 512), /outside the heap/);
  assert.throws(() => addon.conv2d(heap, 0, g.subarray(0, 12), 0, 256, 512), /Int32Array of 13/);
  assert.throws(() => addon.conv2d(heap, 3, g, 0, 256, 512), /bad kind or geometry/);
  assert.throws(() => addon.conv2d(heap, 0, Int32Array.from([1, 2, 2, 2, 5, 5, 2, 1, 1, 0, 0, 0, 0]), 0, 256, 512), /empty output/);
  assert.throws(() => addon.conv2d({} as ArrayBuffer, 0, g, 0, 256, 512), /ArrayBuffer/);
  // A kernel larger than the input (h 2, k 3, stride 2, no padding): no output, not a 1-row one.
  assert.throws(() => addon.conv2d(heap, 0, Int32Array.from([1, 2, 2, 1, 3, 3, 1, 2, 2, 0, 0, 0, 0]), 0, 256, 512), /empty output/);
  assert.throws(() => addon.conv2d(heap, 0, g, '0' as unknown as number, 256, 512), /offsets must be numbers/);
  assert.throws(() => addon.conv2d(heap, 0, Int32Array.from([1 << 30, 4, 4, 2, 3, 3, 2, 1, 1, 1, 1, 1, 1]), 0, 256, 512), /bad kind or geometry/);
});

test('oneDNN kernels read inputs still on another backend (their move grows the wasm heap)', { skip }, async () => {
  // 42 MB of input made on cpu: tfjs moves it into the wasm heap on the kernel's first access.
  const shape = [10, 256, 256, 16];
  await useBackend('cpu');
  const x = seededTensor(shape, 41) as tf.Tensor4D;
  const w = seededTensor([3, 3, 16, 4], 42) as tf.Tensor4D;
  const [xd, wd] = [x.dataSync(), w.dataSync()];
  await useBackend('wasm');
  const moved = conv2d(x, w, 2, 'same').dataSync();
  const native = conv2d(tf.tensor4d(xd, shape as [number, number, number, number]), tf.tensor4d(wd, [3, 3, 16, 4]), 2, 'same').dataSync();
  assert.equal(moved.length, 10 * 128 * 128 * 4);
  assert.deepEqual(moved, native);
});
