// Differentiable ops whose gradients use only kernels every backend has. The wasm backend
// lacks Conv2DBackpropFilter and UnsortedSegmentSum, and the cpu backend's versions are slow,
// so the conv filter gradient is a forward conv and BatchNorm is written out by hand.
// Used on every backend, so all backends compute the same maths.
import * as tf from '@tensorflow/tfjs-core';
// The union package registers the built-in ops' gradients (relu, matMul, gather, ...) in its
// CommonJS build; tfjs-core's own registration module is ESM-only and unusable from a bundle.
import '@tensorflow/tfjs';
import type { Padding } from '../../core/models/spec';
import { nativeConvolutions, type NativeConvolutions } from './native-conv';

type GradFn = (dy: tf.Tensor, saved: tf.Tensor[]) => tf.Tensor | tf.Tensor[];

/** tf.customGrad with typed inputs: `fn` gets the input tensors and the save function. */
export function withCustomGrad<T extends tf.Tensor>(fn: (inputs: tf.Tensor[], save: tf.GradSaveFunc) => { value: T; gradFunc: GradFn }): (...inputs: tf.Tensor[]) => T {
  const f = tf.customGrad(((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const save = args[args.length - 1] as tf.GradSaveFunc;
    return fn(args.slice(0, -1) as tf.Tensor[], save);
  }) as Parameters<typeof tf.customGrad>[0]);
  return (...inputs) => f(...inputs) as T;
}

/** TF's "same" padding split: (before, after) for one spatial dimension. */
export function samePadding(size: number, k: number, stride: number): [number, number] {
  const out = Math.ceil(size / stride);
  const total = Math.max((out - 1) * stride + k - size, 0);
  const before = Math.floor(total / 2);
  return [before, total - before];
}

export function explicitPadding(h: number, w: number, k: number, stride: number, padding: Padding): [[number, number], [number, number]] {
  return padding === 'same' ? [samePadding(h, k, stride), samePadding(w, k, stride)] : [[0, 0], [0, 0]];
}

type Pad4 = [[number, number], [number, number], [number, number], [number, number]];

/**
 * [n,h,w,c] → [c,h,w,n] as a 2-D transpose [n, hwc] → [hwc, n] and a 3-D one moving whole
 * rows of n: ~2× faster on wasm than the 4-D Transpose, whose innermost loop would stride
 * over the whole tensor once per channel.
 */
function channelsFirstBatchLast(x: tf.Tensor4D): tf.Tensor4D {
  const [n, h, w, c] = x.shape;
  const t = tf.reshape(tf.transpose(tf.reshape(x, [n, h * w * c])), [h * w, c, n]);
  return tf.reshape(tf.transpose(t, [1, 0, 2]), [c, h, w, n]);
}

/**
 * dW of a convolution as a forward convolution: batch and input channels swap roles, and dy
 * becomes a filter dilated by the stride. x: [n,h,w,cin], dy: [n,oh,ow,cout] → [k,k,cin,cout].
 * The input's zero padding is the convolution's own (explicit) padding, not a PadV2 pass.
 */
export function conv2dFilterGrad(x: tf.Tensor4D, dy: tf.Tensor4D, k: number, stride: number, padding: Padding): tf.Tensor4D {
  return tf.tidy(() => {
    const [, h, w] = x.shape;
    const [, oh, ow] = dy.shape;
    const [[pt], [pl]] = explicitPadding(h, w, k, stride, padding);
    // Only rows/cols actually read by the forward conv: (o−1)·s + k of the padded input.
    const pb = (oh - 1) * stride + k - pt - h;
    const pr = (ow - 1) * stride + k - pl - w;
    // A negative trailing pad (valid padding with a remainder) crops: a Slice, which on wasm
    // copies its whole input, so only then.
    const xs = pb < 0 || pr < 0 ? (tf.slice(x, [0, 0, 0, 0], [-1, h + Math.min(pb, 0), w + Math.min(pr, 0), -1]) as tf.Tensor4D) : x;
    const xt = channelsFirstBatchLast(xs as tf.Tensor4D); // [cin, h, w, n]
    const filter = tf.transpose(dy, [1, 2, 0, 3]); // [oh, ow, n, cout]
    const pad: Pad4 = [[0, 0], [pt, Math.max(pb, 0)], [pl, Math.max(pr, 0)], [0, 0]];
    const out = tf.conv2d(xt, filter, 1, pad, 'NHWC', stride > 1 ? [stride, stride] : 1); // [cin, k, k, cout]
    return tf.transpose(out, [1, 2, 0, 3]);
  });
}

/**
 * Spreads [n,oh,ow,c] onto every s-th pixel of [n,h,w,c] (zeros between), h ≤ oh·s: two ≤3-D
 * pads of reshaped views, and a Slice only when h or w is not a multiple of s.
 */
export function zeroInsert(t: tf.Tensor4D, s: number, h: number, w: number): tf.Tensor4D {
  const [n, oh, ow, c] = t.shape;
  const rows = tf.reshape(tf.pad(tf.reshape(t, [n * oh, 1, ow * c]), [[0, 0], [0, s - 1], [0, 0]]), [n * oh * s * ow, 1, c]);
  const out = tf.reshape(tf.pad(rows, [[0, 0], [0, s - 1], [0, 0]]), [n, oh * s, ow * s, c]) as tf.Tensor4D;
  return oh * s === h && ow * s === w ? out : (tf.slice(out, [0, 0, 0, 0], [n, h, w, c]) as tf.Tensor4D);
}

/**
 * How the input gradient of a stride-s convolution splits into s phases per axis: output row
 * p = s·u + r receives dy[u + d]·W[i] for every tap i ≡ r + pad (mod s), d = (r + pad − i)/s.
 * taps[t·s + r] is the kernel index i applied at offset d = t + dMin (or k: a zero tap).
 */
function phaseTaps(k: number, stride: number, pad: number): { taps: number[]; count: number; dMin: number; dMax: number } {
  let dMin = Infinity;
  let dMax = -Infinity;
  for (let r = 0; r < stride; r++) {
    for (let i = 0; i < k; i++) {
      if ((((r + pad - i) % stride) + stride) % stride !== 0) continue;
      const d = (r + pad - i) / stride;
      dMin = Math.min(dMin, d);
      dMax = Math.max(dMax, d);
    }
  }
  const count = dMax - dMin + 1;
  const taps = new Array<number>(count * stride).fill(k);
  for (let r = 0; r < stride; r++) {
    for (let i = 0; i < k; i++) {
      if ((((r + pad - i) % stride) + stride) % stride !== 0) continue;
      taps[((r + pad - i) / stride - dMin) * stride + r] = i;
    }
  }
  return { taps, count, dMin, dMax };
}

/**
 * dx of a convolution as one forward convolution over dy ("sub-pixel" form): for stride s,
 * each of the s×s output phases is a small correlation of dy with a subset of the kernel taps,
 * so the s² phases become s²·cin output channels of a single stride-1 convolution (no zeros
 * inserted into dy, no wasted multiplications on them), interleaved back by a transpose.
 * For stride 1 it is the classic full correlation with the flipped kernel, channels swapped;
 * the padding is the convolution's own. (wasm's Conv2DBackpropInput is markedly slower than
 * its forward Conv2D.)
 */
export function conv2dInputGrad(dy: tf.Tensor4D, w: tf.Tensor4D, xShape: readonly [number, number, number, number], stride: number, padding: Padding): tf.Tensor4D {
  return tf.tidy(() => {
    const [n, h, wd, cin] = xShape;
    const [, oh, ow, cout] = dy.shape;
    const k = w.shape[0];
    const s = stride;
    const [[pt], [pl]] = explicitPadding(h, wd, k, s, padding);
    if (k === 1 && pt === 0 && pl === 0) {
      // A 1×1 kernel (projection shortcuts) feeds only phase (0,0): the channel map, spread out.
      const dxs = tf.conv2d(dy, tf.reshape(tf.transpose(tf.reshape(w, [cin, cout])), [1, 1, cout, cin]) as tf.Tensor4D, 1, 'valid');
      return s > 1 ? zeroInsert(dxs, s, h, wd) : dxs;
    }
    const rows = phaseTaps(k, s, pt);
    const cols = phaseTaps(k, s, pl);
    const U = Math.ceil(h / s);
    const V = Math.ceil(wd / s);
    // dy rows dMin … U−1+dMax are read; what lies outside dy is the convolution's zero padding.
    const pad: Pad4 = [[0, 0], [-rows.dMin, U - 1 + rows.dMax - (oh - 1)], [-cols.dMin, V - 1 + cols.dMax - (ow - 1)], [0, 0]];
    if (pad.some(([a, b]) => a < 0 || b < 0)) throw new Error(`conv2dInputGrad: unsupported geometry ${xShape.join('×')} k${k} s${s} ${padding}`);
    // Filter [tr, tc, cout, (r, c, cin)]: one gather of the (zero-padded) kernel taps.
    const index: number[] = [];
    for (let tr = 0; tr < rows.count; tr++) {
      for (let tc = 0; tc < cols.count; tc++) {
        for (let r = 0; r < s; r++) {
          for (let c = 0; c < s; c++) index.push(rows.taps[tr * s + r]! * (k + 1) + cols.taps[tc * s + c]!);
        }
      }
    }
    // The gather as a product with a 0/1 selection matrix (exact: one 1 per row, or none for a
    // zero tap): on wasm a 9×4096 GatherV2 or Reverse takes ~2.4 ms, this matmul ~0.5 ms.
    const select = new Float32Array(index.length * k * k);
    index.forEach((ik, row) => {
      const [i, j] = [Math.floor(ik / (k + 1)), ik % (k + 1)];
      if (i < k && j < k) select[row * k * k + i * k + j] = 1;
    });
    const picked = tf.matMul(tf.tensor2d(select, [index.length, k * k]), tf.reshape(w, [k * k, cin * cout]));
    const taps = tf.reshape(picked, [rows.count * cols.count, s * s, cin, cout]);
    const filter = tf.reshape(tf.transpose(taps, [0, 3, 1, 2]), [rows.count, cols.count, cout, s * s * cin]) as tf.Tensor4D;
    let dx = tf.conv2d(dy, filter, 1, pad); // [n, U, V, (r, c, cin)]
    if (s > 1) dx = tf.reshape(tf.transpose(tf.reshape(dx, [n * U, V, s, s * cin]), [0, 2, 1, 3]), [n, U * s, V * s, cin]);
    if (U * s !== h || V * s !== wd) dx = tf.slice(dx, [0, 0, 0, 0], [n, h, wd, cin]);
    return dx;
  });
}

export interface ConvOptions {
  /** False for a conv or dense layer reading only data (the network input, reshaped or pooled):
   * its input gradient is never used. (customGrad computes every input's gradient.) */
  readonly inputGrad?: boolean;
}

/** conv2d whose gradients are forward convolutions (see conv2dFilterGrad, conv2dInputGrad), or,
 * on wasm with the oneDNN addon built, oneDNN's forward, input-gradient and filter-gradient
 * primitives (native-conv.ts). On webgpu tfjs's own Conv2DBackpropInput/Filter shaders: the
 * forward-convolution forms measured 1.2–4.5× slower there per convolution and about 2× per
 * LeNet-5 step. (An input reached from data alone gets no gradient there either: tfjs only
 * differentiates towards the variables.) */
export function conv2d(x: tf.Tensor4D, w: tf.Tensor4D, stride: number, padding: Padding, options: ConvOptions = {}): tf.Tensor4D {
  if (tf.getBackend() === 'webgpu') return tf.conv2d(x, w, stride, padding);
  const k = w.shape[0];
  const kernels = convKernels(x.shape, w.shape, stride, padding);
  const f = withCustomGrad(([xIn, wIn], save) => {
    save([xIn!, wIn!]);
    return {
      value: kernels.forward(xIn as tf.Tensor4D, wIn as tf.Tensor4D),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [xs, ws] = saved as [tf.Tensor4D, tf.Tensor4D];
        const d = dy as tf.Tensor4D;
        return [options.inputGrad === false ? tf.zerosLike(xs) : kernels.inputGrad(d, ws), kernels.filterGrad(xs, d, k)];
      },
    };
  });
  return f(x, w) as tf.Tensor4D;
}

interface ConvKernels {
  forward(x: tf.Tensor4D, w: tf.Tensor4D): tf.Tensor4D;
  inputGrad(dy: tf.Tensor4D, w: tf.Tensor4D): tf.Tensor4D;
  filterGrad(x: tf.Tensor4D, dy: tf.Tensor4D, k: number): tf.Tensor4D;
}

/** oneDNN's three primitives where the addon runs (wasm), else tfjs's forward conv and ours. */
function convKernels(xShape: readonly [number, number, number, number], wShape: readonly [number, number, number, number], stride: number, padding: Padding): ConvKernels {
  const native = nativeConvolutions();
  if (!native) {
    return {
      forward: (x, w) => tf.conv2d(x, w, stride, padding),
      inputGrad: (dy, w) => conv2dInputGrad(dy, w, xShape, stride, padding),
      filterGrad: (x, dy, k) => conv2dFilterGrad(x, dy, k, stride, padding),
    };
  }
  const [n, h, wd, cin] = xShape;
  const [k, , , cout] = wShape;
  const [[pt, pb], [pl, pr]] = explicitPadding(h, wd, k, stride, padding);
  const g = [n, h, wd, cin, k, k, cout, stride, stride, pt, pl, pb, pr] as const;
  return { forward: (x, w) => native.forward(x, w, g), inputGrad: (dy, w) => native.inputGrad(dy, w, g), filterGrad: (x, dy) => native.filterGrad(x, dy, g) };
}

/**
 * x·w whose gradients use explicit transposes: wasm's BatchMatMul with transpose flags is ~3×
 * slower than a transpose followed by a plain matmul (measured).
 */
export function matMul(x: tf.Tensor2D, w: tf.Tensor2D, options: ConvOptions = {}): tf.Tensor2D {
  const f = withCustomGrad(([a, b], save) => {
    save([a!, b!]);
    return {
      value: tf.matMul(a as tf.Tensor2D, b as tf.Tensor2D),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [sa, sb] = saved as [tf.Tensor2D, tf.Tensor2D];
        const g = dy as tf.Tensor2D;
        const dx = options.inputGrad === false ? tf.zerosLike(sa) : tf.matMul(g, tf.transpose(sb));
        return [dx, tf.matMul(tf.transpose(sa), g)];
      },
    };
  });
  return f(x, w) as tf.Tensor2D;
}

/** ReLU with the gradient dy·step(x) in two elementwise kernels, or on wasm with the addon
 * oneDNN's ReLU forward and backward (one multi-threaded pass each). */
export function relu(x: tf.Tensor): tf.Tensor {
  const native = x.dtype === 'float32' ? nativeConvolutions() : undefined;
  if (native) {
    const nf = withCustomGrad(([a], save) => {
      save([a!]);
      return { value: native.relu(a!), gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => native.reluGrad(saved[0]!, dy) };
    });
    return nf(x);
  }
  const f = withCustomGrad(([a], save) => {
    save([a!]);
    return {
      value: tf.relu(a!),
      // step(x) = [x > 0], as tfjs's own ReluGrad; one kernel where greater + cast are two
      // (and wasm's Greater against a broadcast scalar is ~10× slower than Step).
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.mul(dy, tf.step(saved[0]!)),
    };
  });
  return f(x);
}

/**
 * 2×2 stride-2 max pooling (LeNet's) whose gradient routes dy to the window's maxima through a
 * nearest-neighbour upsampling: about half the time of wasm's MaxPoolGrad. A window with tied
 * maxima shares dy equally among them, so each window passes on exactly dy (a valid subgradient;
 * MaxPoolGrad gives it all to the first). Ties are common: a digit's constant background makes
 * equal positive conv outputs side by side (2,145 of LeNet-5's 13,174 positive first-layer
 * windows in one batch); passing dy to each of them multiplied those gradients by up to 4.
 */
export function maxPool2x2(x: tf.Tensor4D): tf.Tensor4D {
  const [, h, w] = x.shape;
  const f = withCustomGrad(([a], save) => {
    const y = tf.maxPool(a as tf.Tensor4D, 2, 2, 'valid');
    save([a!, y]);
    return {
      value: y,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [sx, sy] = saved as [tf.Tensor4D, tf.Tensor4D];
        const size: [number, number] = [sy.shape[1] * 2, sy.shape[2] * 2];
        const up = (t: tf.Tensor4D) => tf.image.resizeNearestNeighbor(t, size);
        const covered = size[0] === h && size[1] === w ? sx : (tf.slice(sx, [0, 0, 0, 0], [-1, size[0], size[1], -1]) as tf.Tensor4D);
        const hits = tf.cast(tf.equal(covered, up(sy)), 'float32') as tf.Tensor4D;
        // Maxima per window (≥ 1) = 4 × the mean of the hits over it.
        const share = tf.div(dy, tf.mul(tf.avgPool(hits, 2, 2, 'valid'), 4)) as tf.Tensor4D;
        let dx: tf.Tensor4D = tf.mul(hits, up(share));
        if (size[0] !== h || size[1] !== w) dx = tf.pad(dx, [[0, 0], [0, h - size[0]], [0, w - size[1]], [0, 0]]);
        return dx;
      },
    };
  });
  return f(x) as tf.Tensor4D;
}

export interface BatchNormResult {
  readonly y: tf.Tensor;
  /** Batch statistics, detached: for the running averages used at evaluation. */
  readonly mean: tf.Tensor1D;
  readonly variance: tf.Tensor1D;
  /** How many values each statistic averaged over (n·h·w). */
  readonly rows: number;
}

/**
 * Per-channel mean of [n,h,w,c] over n, h and w, as two average poolings (XNNPACK's, SIMD
 * across channels): ~3× faster on wasm than Xᵀ·ones, whose transposed matmul is a scalar loop.
 */
function channelMean(t: tf.Tensor4D): tf.Tensor1D {
  const [n, h, w, c] = t.shape;
  let m: tf.Tensor4D = h * w > 1 ? tf.avgPool(t, [h, w], 1, 'valid') : t; // [n,1,1,c]
  if (n > 1) m = tf.avgPool(tf.reshape(m, [1, n, 1, c]), [n, 1], 1, 'valid');
  return tf.reshape(m, [c]);
}

/**
 * t·scale (+ bias) per channel of [n,h,w,c], as a 1×1 depthwise convolution: one XNNPACK pass
 * where wasm's broadcasting Mul/Add/Sub take ~4× a same-shape elementwise op each.
 */
function channelAffine(t: tf.Tensor4D, scale: tf.Tensor1D, bias?: tf.Tensor1D): tf.Tensor4D {
  const filter = tf.reshape(scale, [1, 1, t.shape[3], 1]) as tf.Tensor4D;
  return bias ? tf.fused.depthwiseConv2d({ x: t, filter, strides: 1, pad: 'valid', bias }) : tf.depthwiseConv2d(t, filter, 1, 'valid');
}

/**
 * Training-mode BatchNorm over all but the last axis, with the closed-form backward:
 * dx = γ/σ · (dy − mean(dy) − x̂ · mean(dy · x̂)). For [n,h,w,c] (every BatchNorm of the
 * architectures here) the statistics are average poolings and every per-channel affine map a
 * 1×1 depthwise convolution: dx = a·dy − a·mean(dy) − (a/σ)·mean(dy·x̂)·(x − μ), a = γ/σ.
 */
export function batchNormTrain(x: tf.Tensor, gamma: tf.Tensor1D, beta: tf.Tensor1D, eps = 1e-5): BatchNormResult {
  const c = x.shape[x.shape.length - 1]!;
  const rows = x.size / c;
  const native = nativeConvolutions();
  if (native && x.rank === 4) return nativeBatchNormTrain(native, x as tf.Tensor4D, gamma, beta, eps, rows);
  const stats: { mean?: tf.Tensor1D; variance?: tf.Tensor1D } = {};
  const f = withCustomGrad(([xIn, g, b], save) => {
    const x4 = xIn as tf.Tensor4D;
    const mean = channelMean(x4);
    const xc = channelAffine(x4, tf.onesLike(mean), tf.neg(mean)); // x − μ
    const variance = channelMean(tf.square(xc) as tf.Tensor4D);
    const inv = tf.rsqrt(tf.add(variance, eps)) as tf.Tensor1D;
    const y = channelAffine(xc, tf.mul(g!, inv) as tf.Tensor1D, b as tf.Tensor1D);
    stats.mean = tf.keep(mean);
    stats.variance = tf.keep(variance);
    save([xc, inv, g!]);
    return {
      value: y,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [xcs, iv, gm] = saved as [tf.Tensor4D, tf.Tensor1D, tf.Tensor1D];
        const d = dy as tf.Tensor4D;
        const meanDy = channelMean(d);
        const meanDyXhat = tf.mul(channelMean(tf.mul(d, xcs) as tf.Tensor4D), iv) as tf.Tensor1D;
        const a = tf.mul(gm, iv) as tf.Tensor1D;
        const dx = tf.add(channelAffine(d, a, tf.neg(tf.mul(a, meanDy)) as tf.Tensor1D), channelAffine(xcs, tf.neg(tf.mul(tf.mul(a, iv), meanDyXhat)) as tf.Tensor1D));
        return [dx, tf.mul(meanDyXhat, rows), tf.mul(meanDy, rows)];
      },
    };
  });
  // Other ranks (no architecture here has one) as [rows, 1, 1, c]: one implementation.
  const y = x.rank === 4 ? f(x, gamma, beta) : tf.reshape(f(tf.reshape(x, [rows, 1, 1, c]), gamma, beta), x.shape);
  return { y, mean: stats.mean!, variance: stats.variance!, rows };
}

/** batchNormTrain in the native addon (wasm): one multi-threaded call each way, float64 sums,
 * where the hand-written form runs about ten single-threaded XNNPACK kernels. */
function nativeBatchNormTrain(native: NativeConvolutions, x: tf.Tensor4D, gamma: tf.Tensor1D, beta: tf.Tensor1D, eps: number, rows: number): BatchNormResult {
  const stats: { mean?: tf.Tensor1D; variance?: tf.Tensor1D } = {};
  const f = withCustomGrad(([xIn, g, b], save) => {
    const [y, mean, variance] = native.batchNorm(xIn as tf.Tensor4D, g as tf.Tensor1D, b as tf.Tensor1D, eps);
    stats.mean = tf.keep(mean);
    stats.variance = tf.keep(variance);
    save([xIn!, mean, variance, g!, b!]);
    return {
      value: y,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [xs, m, v, gm, bt] = saved as [tf.Tensor4D, tf.Tensor1D, tf.Tensor1D, tf.Tensor1D, tf.Tensor1D];
        return native.batchNormGrad(xs, m, v, dy as tf.Tensor4D, gm, bt, eps);
      },
    };
  });
  return { y: f(x, gamma, beta), mean: stats.mean!, variance: stats.variance!, rows };
}

export function batchNormInfer(x: tf.Tensor, gamma: tf.Tensor1D, beta: tf.Tensor1D, mean: tf.Tensor1D, variance: tf.Tensor1D, eps = 1e-5): tf.Tensor {
  return tf.tidy(() => tf.add(tf.mul(tf.sub(x, mean), tf.mul(gamma, tf.rsqrt(tf.add(variance, eps)))), beta));
}

/** Mean softmax cross-entropy of logits [n,k] against integer labels, gradient (p − y)/n. */
export function softmaxCrossEntropy(logits: tf.Tensor2D, labels: tf.Tensor1D): tf.Scalar {
  const [n, k] = logits.shape;
  const f = withCustomGrad(([z], save) => {
    const onehot = tf.oneHot(tf.cast(labels, 'int32') as tf.Tensor1D, k);
    const logp = tf.logSoftmax(z as tf.Tensor2D);
    const loss = tf.neg(tf.div(tf.sum(tf.mul(onehot, logp)), n)) as tf.Scalar;
    save([logp, onehot]);
    return {
      value: loss,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [lp, oh] = saved as [tf.Tensor2D, tf.Tensor2D];
        return [tf.mul(tf.div(tf.sub(tf.exp(lp), oh), n), dy)];
      },
    };
  });
  return f(logits) as tf.Scalar;
}

/** [c, outC] 0/1 matrix placing channel i at before + i, as a 1×1 conv filter. */
function channelEmbedding(c: number, outC: number, before: number, transposed: boolean): tf.Tensor4D {
  const e = new Float32Array(c * outC);
  for (let i = 0; i < c; i++) e[transposed ? (before + i) * c + i : i * outC + before + i] = 1;
  return tf.tensor4d(e, transposed ? [1, 1, outC, c] : [1, 1, c, outC]);
}

/**
 * CIFAR "option A" shortcut: keep every stride-th pixel, zero-pad the new channels. Both at
 * once as a strided 1×1 convolution with a 0/1 embedding filter (exact: each output is one
 * input times 1 plus zeros); the gradient picks the channels back with the transposed filter
 * and puts zeros between the pixels with two pads. (A strided slice and a channel pad would be
 * Slices, which on wasm copy their whole input and then run a JS loop per innermost row.)
 */
export function padShortcut(x: tf.Tensor4D, stride: number, outChannels: number): tf.Tensor4D {
  const [, h, w, c] = x.shape;
  const extra = outChannels - c;
  if (stride === 1 && extra === 0) return x;
  if (extra < 0) throw new Error(`padShortcut: ${c} channels do not fit in ${outChannels}`);
  const before = Math.floor(extra / 2);
  const f = withCustomGrad(([a]) => ({
    value: tf.tidy(() => tf.conv2d(a as tf.Tensor4D, channelEmbedding(c, outChannels, before, false), stride, 'valid')),
    gradFunc: (dy: tf.Tensor) => {
      const dx = tf.conv2d(dy as tf.Tensor4D, channelEmbedding(c, outChannels, before, true), 1, 'valid'); // [n,oh,ow,c]
      return stride > 1 ? zeroInsert(dx, stride, h, w) : dx;
    },
  }));
  return f(x) as tf.Tensor4D;
}

/** Global average pooling [n,h,w,c] → [n,c]: the mean over the h·w positions. */
export function globalAvgPool(x: tf.Tensor4D): tf.Tensor2D {
  const [n, h, w, c] = x.shape;
  return tf.mean(tf.reshape(x, [n, h * w, c]), 1) as tf.Tensor2D;
}
