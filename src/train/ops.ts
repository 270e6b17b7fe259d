// Differentiable ops whose gradients use only kernels every backend has. The wasm backend
// lacks Conv2DBackpropFilter and UnsortedSegmentSum, and the cpu backend's versions are slow,
// so the conv filter gradient is a forward conv and BatchNorm is written out by hand.
// Used on every backend, so all backends compute the same maths.
import * as tf from '@tensorflow/tfjs-core';
// The union package registers the built-in ops' gradients (relu, matMul, gather, ...) in its
// CommonJS build; tfjs-core's own registration module is ESM-only and unusable from a bundle.
import '@tensorflow/tfjs';
import type { Padding } from '../models/spec';

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

function explicitPadding(h: number, w: number, k: number, stride: number, padding: Padding): [[number, number], [number, number]] {
  return padding === 'same' ? [samePadding(h, k, stride), samePadding(w, k, stride)] : [[0, 0], [0, 0]];
}

/**
 * dW of a convolution as a forward convolution: batch and input channels swap roles, and dy
 * becomes a filter dilated by the stride. x: [n,h,w,cin], dy: [n,oh,ow,cout] → [k,k,cin,cout].
 */
export function conv2dFilterGrad(x: tf.Tensor4D, dy: tf.Tensor4D, k: number, stride: number, padding: Padding): tf.Tensor4D {
  return tf.tidy(() => {
    const [, h, w] = x.shape;
    const [, oh, ow] = dy.shape;
    const [[pt, pb], [pl, pr]] = explicitPadding(h, w, k, stride, padding);
    // Only rows/cols actually read by the forward conv: (o−1)·s + k of the padded input.
    const needH = (oh - 1) * stride + k;
    const needW = (ow - 1) * stride + k;
    let xp: tf.Tensor4D = pt || pb || pl || pr ? tf.pad(x, [[0, 0], [pt, pb], [pl, pr], [0, 0]]) : x;
    if (xp.shape[1] !== needH || xp.shape[2] !== needW) xp = tf.slice(xp, [0, 0, 0, 0], [-1, needH, needW, -1]);
    const xt = tf.transpose(xp, [3, 1, 2, 0]); // [cin, H, W, n]
    const filter = tf.transpose(dy, [1, 2, 0, 3]); // [oh, ow, n, cout]
    const out = tf.conv2d(xt, filter, 1, 'valid', 'NHWC', stride > 1 ? [stride, stride] : 1); // [cin, k, k, cout]
    return tf.transpose(out, [1, 2, 0, 3]);
  });
}

/** Inserts stride−1 zeros between rows and columns: [n,h,w,c] → [n,(h−1)s+1,(w−1)s+1,c]. */
function dilate(x: tf.Tensor4D, stride: number): tf.Tensor4D {
  if (stride === 1) return x;
  const [n, h, w, c] = x.shape;
  // Two ≤3-D pads (every backend has them) instead of one 6-D pad.
  const rows = tf.reshape(tf.pad(tf.reshape(x, [n * h, 1, w * c]), [[0, 0], [0, stride - 1], [0, 0]]), [n, h * stride, w, c]);
  const cols = tf.reshape(tf.pad(tf.reshape(rows, [n * h * stride * w, 1, c]), [[0, 0], [0, stride - 1], [0, 0]]), [n, h * stride, w * stride, c]);
  return tf.slice(cols, [0, 0, 0, 0], [n, (h - 1) * stride + 1, (w - 1) * stride + 1, c]) as tf.Tensor4D;
}

/**
 * dx of a convolution as a forward convolution: dy dilated by the stride, padded to a "full"
 * convolution, against the kernel flipped in space with in/out channels swapped. (wasm's
 * Conv2DBackpropInput is markedly slower than its forward Conv2D.)
 */
export function conv2dInputGrad(dy: tf.Tensor4D, w: tf.Tensor4D, xShape: readonly [number, number, number, number], stride: number, padding: Padding): tf.Tensor4D {
  return tf.tidy(() => {
    const [, h, wd] = xShape;
    const k = w.shape[0];
    const [[pt], [pl]] = explicitPadding(h, wd, k, stride, padding);
    const d = dilate(dy, stride);
    const top = k - 1 - pt;
    const left = k - 1 - pl;
    const bottom = h + k - 1 - d.shape[1] - top;
    const right = wd + k - 1 - d.shape[2] - left;
    const padded = tf.pad(d, [[0, 0], [top, bottom], [left, right], [0, 0]]);
    const flipped = tf.transpose(tf.reverse(w, [0, 1]), [0, 1, 3, 2]) as tf.Tensor4D;
    return tf.conv2d(padded, flipped, 1, 'valid');
  });
}

export interface ConvOptions {
  /** False for a conv reading the network input: its input gradient is never used. */
  readonly inputGrad?: boolean;
}

/** conv2d whose gradients are forward convolutions (see conv2dFilterGrad, conv2dInputGrad). */
export function conv2d(x: tf.Tensor4D, w: tf.Tensor4D, stride: number, padding: Padding, options: ConvOptions = {}): tf.Tensor4D {
  const k = w.shape[0];
  const f = withCustomGrad(([xIn, wIn], save) => {
    const xx = xIn as tf.Tensor4D;
    const ww = wIn as tf.Tensor4D;
    save([xx, ww]);
    return {
      value: tf.conv2d(xx, ww, stride, padding),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [xs, ws] = saved as [tf.Tensor4D, tf.Tensor4D];
        const d = dy as tf.Tensor4D;
        const dx = options.inputGrad === false ? tf.zerosLike(xs) : conv2dInputGrad(d, ws, xs.shape, stride, padding);
        const dw = conv2dFilterGrad(xs, d, k, stride, padding);
        return [dx, dw];
      },
    };
  });
  return f(x, w) as tf.Tensor4D;
}

/**
 * x·w whose gradients use explicit transposes: wasm's BatchMatMul with transpose flags is ~3×
 * slower than a transpose followed by a plain matmul (measured).
 */
export function matMul(x: tf.Tensor2D, w: tf.Tensor2D): tf.Tensor2D {
  const f = withCustomGrad(([a, b], save) => {
    save([a!, b!]);
    return {
      value: tf.matMul(a as tf.Tensor2D, b as tf.Tensor2D),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [sa, sb] = saved as [tf.Tensor2D, tf.Tensor2D];
        const g = dy as tf.Tensor2D;
        return [tf.matMul(g, tf.transpose(sb)), tf.matMul(tf.transpose(sa), g)];
      },
    };
  });
  return f(x, w) as tf.Tensor2D;
}

/** ReLU with the gradient dy·[x > 0] in two elementwise kernels. */
export function relu(x: tf.Tensor): tf.Tensor {
  const f = withCustomGrad(([a], save) => {
    save([a!]);
    return {
      value: tf.relu(a!),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.mul(dy, tf.cast(tf.greater(saved[0]!, 0), 'float32')),
    };
  });
  return f(x);
}

/**
 * 2×2 stride-2 max pooling (LeNet's) whose gradient routes dy to the window's maxima through a
 * nearest-neighbour upsampling: about half the time of wasm's MaxPoolGrad. A window with tied
 * maxima passes dy to each of them (after a ReLU those ties are zeros, whose gradient is zero).
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
        let dx: tf.Tensor4D = tf.mul(tf.cast(tf.equal(covered, up(sy)), 'float32'), up(dy as tf.Tensor4D));
        if (size[0] !== h || size[1] !== w) dx = tf.pad(dx, [[0, 0], [0, h - size[0]], [0, w - size[1]], [0, 0]]);
        return dx;
      },
    };
  });
  return f(x) as tf.Tensor4D;
}

/**
 * Column sums of a [rows, cols] matrix, scaled by `ones` (a [rows, 1] column): as Xᵀ·ones with
 * the big matrix as the matmul's input side. wasm's Sum over axis 0 is slow, and ones·X makes
 * XNNPACK re-pack X as weights on every call (measured ~2–3× slower).
 */
function columnSums(m: tf.Tensor2D, ones: tf.Tensor2D): tf.Tensor2D {
  return tf.reshape(tf.matMul(m, ones, true, false), [1, m.shape[1]]);
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
 * Training-mode BatchNorm over all but the last axis, with the closed-form backward:
 * dx = γ/σ · (dy − mean(dy) − x̂ · mean(dy · x̂)).
 */
export function batchNormTrain(x: tf.Tensor, gamma: tf.Tensor1D, beta: tf.Tensor1D, eps = 1e-5): BatchNormResult {
  const c = x.shape[x.shape.length - 1]!;
  const rows = x.size / c;
  const stats: { mean?: tf.Tensor1D; variance?: tf.Tensor1D } = {};
  const f = withCustomGrad(([xIn, g, b], save) => {
    const ones = tf.fill([rows, 1], 1 / rows) as tf.Tensor2D;
    const x2 = tf.reshape(xIn!, [rows, c]) as tf.Tensor2D;
    const mean = columnSums(x2, ones);
    const xc = tf.sub(x2, mean);
    const variance = columnSums(tf.square(xc) as tf.Tensor2D, ones);
    const inv = tf.rsqrt(tf.add(variance, eps));
    const xhat = tf.mul(xc, inv) as tf.Tensor2D;
    const y = tf.reshape(tf.add(tf.mul(xhat, g!), b!), xIn!.shape);
    stats.mean = tf.keep(tf.reshape(mean, [c]) as tf.Tensor1D);
    stats.variance = tf.keep(tf.reshape(variance, [c]) as tf.Tensor1D);
    save([xhat, inv, g!, ones]);
    return {
      value: y,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [xh, iv, gm, on] = saved as [tf.Tensor2D, tf.Tensor2D, tf.Tensor1D, tf.Tensor2D];
        const dy2 = tf.reshape(dy, [rows, c]) as tf.Tensor2D;
        const meanDy = columnSums(dy2, on); // [1,c]
        const meanDyXhat = columnSums(tf.mul(dy2, xh) as tf.Tensor2D, on);
        const dx = tf.mul(tf.mul(gm, iv), tf.sub(tf.sub(dy2, meanDy), tf.mul(xh, meanDyXhat)));
        const dGamma = tf.reshape(tf.mul(meanDyXhat, rows), [c]);
        const dBeta = tf.reshape(tf.mul(meanDy, rows), [c]);
        return [tf.reshape(dx, dy.shape), dGamma, dBeta];
      },
    };
  });
  const y = f(x, gamma, beta);
  return { y, mean: stats.mean!, variance: stats.variance!, rows };
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

/** CIFAR "option A" shortcut: keep every stride-th pixel, zero-pad the new channels. */
export function padShortcut(x: tf.Tensor4D, stride: number, outChannels: number): tf.Tensor4D {
  let y = x;
  if (stride > 1) {
    const [n, h, w, c] = x.shape;
    // Reshape + slice (both with gradients everywhere) instead of a strided slice.
    const ph = Math.ceil(h / stride) * stride - h;
    const pw = Math.ceil(w / stride) * stride - w;
    const padded = ph || pw ? tf.pad(x, [[0, 0], [0, ph], [0, pw], [0, 0]]) : x;
    const oh = (h + ph) / stride;
    const ow = (w + pw) / stride;
    const r = tf.reshape(padded, [n * oh, stride, ow, stride * c]);
    y = tf.reshape(tf.slice(r, [0, 0, 0, 0], [n * oh, 1, ow, c]), [n, oh, ow, c]);
  }
  const extra = outChannels - y.shape[3];
  if (extra > 0) {
    const before = Math.floor(extra / 2);
    y = tf.pad(y, [[0, 0], [0, 0], [0, 0], [before, extra - before]]);
  }
  return y;
}

/** Global average pooling [n,h,w,c] → [n,c] as a batched matmul with a row of 1/(h·w). */
export function globalAvgPool(x: tf.Tensor4D): tf.Tensor2D {
  const [n, h, w, c] = x.shape;
  return tf.mean(tf.reshape(x, [n, h * w, c]), 1) as tf.Tensor2D;
}
