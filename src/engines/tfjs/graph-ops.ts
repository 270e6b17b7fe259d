// The ops graphs and the new built-ins (VGG, MobileNetV2, ViT) add to ops.ts: depthwise,
// dilated and grouped convolutions, layer normalization, GELU/ReLU6, embeddings, multi-head
// self-attention, token ops and dropout. Where a backend lacks a gradient kernel (wasm has no
// DepthwiseConv2dNativeBackprop* nor UnsortedSegmentSum) the gradient is written here with
// forward kernels every backend has; the rest are plain tfjs ops whose gradients every backend
// runs. No data ever leaves the backend (no dataSync): the webgpu backend cannot read back
// synchronously. test/unit/train-graph-ops.test.ts checks each against tfjs's native gradients
// on cpu and finite differences, on cpu and wasm.
import * as tf from '@tensorflow/tfjs-core';
import type { Padding } from '../../core/models/spec';
import { conv2d, ConvOptions, explicitPadding, matMul, withCustomGrad, zeroInsert } from './ops';

type Pads = [[number, number], [number, number], [number, number], [number, number]];

/** TF's padding of a dilated window: the effective kernel d·(k−1)+1. */
function paddingOf(h: number, w: number, k: number, stride: number, padding: Padding, dilation: number): [[number, number], [number, number]] {
  return explicitPadding(h, w, dilation * (k - 1) + 1, stride, padding);
}

/** [n,oh,ow,c] with s−1 zeros between rows and columns: [n,(oh−1)s+1,(ow−1)s+1,c]. */
function spread(t: tf.Tensor4D, s: number): tf.Tensor4D {
  if (s === 1) return t;
  const [n, oh, ow, c] = t.shape;
  return tf.slice(zeroInsert(t, s, oh * s, ow * s), [0, 0, 0, 0], [n, (oh - 1) * s + 1, (ow - 1) * s + 1, c]) as tf.Tensor4D;
}

/**
 * Depthwise convolution (filter [k,k,c,m], output channel c·m + j) with gradients as forward
 * depthwise convolutions: dx is dy (spread by the stride) correlated with the flipped filter;
 * dW puts the batch into the channels, [1, h, w, n·c], and correlates it with dy as an
 * oh×ow filter dilated by the stride, stepping by the dilation.
 */
export function depthwiseConv2d(x: tf.Tensor4D, w: tf.Tensor4D, stride: number, padding: Padding, dilation = 1, options: ConvOptions = {}): tf.Tensor4D {
  const [n, h, wd, c] = x.shape;
  const [k, , , m] = w.shape;
  const [[pt, pb], [pl, pr]] = paddingOf(h, wd, k, stride, padding, dilation);
  const pads: Pads = [[0, 0], [pt, pb], [pl, pr], [0, 0]];
  const f = withCustomGrad(([xIn, wIn], save) => {
    save([xIn!, wIn!]);
    const xp = pt + pb + pl + pr > 0 ? tf.pad(xIn as tf.Tensor4D, pads) : (xIn as tf.Tensor4D);
    return {
      value: tf.depthwiseConv2d(xp, wIn as tf.Tensor4D, stride, 'valid', 'NHWC', dilation),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [xs, ws] = saved as [tf.Tensor4D, tf.Tensor4D];
        const d = dy as tf.Tensor4D;
        const [, oh, ow] = d.shape;
        // dx: full correlation of the spread dy with the flipped, dilated filter, channel c·m+j
        // feeding input channel c; the multiplier's m outputs of a channel are summed.
        let dx: tf.Tensor4D;
        if (options.inputGrad === false) dx = tf.zerosLike(xs);
        else {
          const eff = dilation * (k - 1) + 1;
          const spreadDy = spread(d, stride);
          const [sh, sw] = [spreadDy.shape[1], spreadDy.shape[2]];
          const padded = tf.pad(spreadDy, [[0, 0], [eff - 1 - pt, h + pt - sh], [eff - 1 - pl, wd + pl - sw], [0, 0]]);
          const flipped = tf.reshape(tf.reverse(ws, [0, 1]), [k, k, c * m, 1]) as tf.Tensor4D;
          const perOutput = tf.depthwiseConv2d(padded, flipped, 1, 'valid', 'NHWC', dilation); // [n,h,w,c·m]
          dx = m === 1 ? perOutput : (tf.sum(tf.reshape(perOutput, [n, h, wd, c, m]), 4) as tf.Tensor4D);
        }
        // dW[i,j,c,m] = Σ_{n,y,x} xpad[n, y·s + i·d, x·s + j·d, c] · dy[n,y,x,c·m+j].
        const xp = pt + pb + pl + pr > 0 ? tf.pad(xs, pads) : xs;
        const [hp, wp] = [xp.shape[1], xp.shape[2]];
        const xBatchInChannels = tf.reshape(tf.transpose(xp, [1, 2, 0, 3]), [1, hp, wp, n * c]) as tf.Tensor4D;
        const dyFilter = tf.reshape(tf.transpose(tf.reshape(d, [n, oh, ow, c, m]), [1, 2, 0, 3, 4]), [oh, ow, n * c, m]) as tf.Tensor4D;
        // Steps of `dilation` over the input, taps `stride` apart (tfjs needs one of them 1).
        let dw = tf.depthwiseConv2d(xBatchInChannels, dyFilter, dilation, 'valid', 'NHWC', stride); // [1,k',k',n·c·m]
        if (dw.shape[1] !== k || dw.shape[2] !== k) dw = tf.slice(dw, [0, 0, 0, 0], [1, k, k, -1]);
        return [dx, tf.sum(tf.reshape(dw, [k, k, n, c, m]), 2)];
      },
    };
  });
  return f(x, w) as tf.Tensor4D;
}

/**
 * A filter [k,k,cin,cout] with d−1 zeros between its taps: a dilated convolution is a plain one
 * with this filter (TF's "same" padding uses the same effective size), and the gradient of the
 * zero insertion (pads and reshapes) flows back to the k×k taps on every backend.
 */
export function dilateFilter(w: tf.Tensor4D, d: number): tf.Tensor4D {
  if (d === 1) return w;
  const [k, , cin, cout] = w.shape;
  const eff = d * (k - 1) + 1;
  const rows = tf.reshape(tf.pad(tf.reshape(w, [k, 1, k * cin * cout]), [[0, 0], [0, d - 1], [0, 0]]), [k * d, k, cin * cout]);
  const r = tf.slice(rows, [0, 0, 0], [eff, k, cin * cout]);
  const cols = tf.reshape(tf.pad(tf.reshape(r, [eff * k, 1, cin * cout]), [[0, 0], [0, d - 1], [0, 0]]), [eff, k * d, cin * cout]);
  return tf.reshape(tf.slice(cols, [0, 0, 0], [eff, eff, cin * cout]), [eff, eff, cin, cout]) as tf.Tensor4D;
}

/**
 * A convolution with groups and dilation: groups = channels is the depthwise op (filter
 * [k,k,1,c·m] is [k,k,c,m] with the same channel order), other groups split the channels into
 * independent convolutions, dilation inserts zeros into the filter.
 */
export function groupedConv2d(x: tf.Tensor4D, w: tf.Tensor4D, stride: number, padding: Padding, dilation: number, groups: number, options: ConvOptions = {}): tf.Tensor4D {
  const c = x.shape[3];
  const [k, , cinPerGroup, cout] = w.shape;
  if (groups === 1) return conv2d(x, dilateFilter(w, dilation), stride, padding, options);
  if (groups === c && cinPerGroup === 1) return depthwiseConv2d(x, tf.reshape(w, [k, k, c, cout / c]) as tf.Tensor4D, stride, padding, dilation, options);
  // Slices, not tf.split: the multi-output SplitV gradient fails in this tfjs (an empty concat).
  const cin = c / groups;
  const per = cout / groups;
  const outs = Array.from({ length: groups }, (_, g) => {
    const xg = tf.slice(x, [0, 0, 0, g * cin], [-1, -1, -1, cin]) as tf.Tensor4D;
    const wg = tf.slice(w, [0, 0, 0, g * per], [-1, -1, -1, per]) as tf.Tensor4D;
    return conv2d(xg, dilateFilter(wg, dilation), stride, padding, options);
  });
  return tf.concat(outs, 3) as tf.Tensor4D;
}

/** Dense over the last axis of any rank: [..., in] → [..., out]. */
export function denseLastAxis(x: tf.Tensor, w: tf.Tensor2D, bias: tf.Tensor | undefined, options: ConvOptions = {}): tf.Tensor {
  const [fanIn, units] = w.shape;
  const rows = x.size / fanIn;
  const flat = x.rank === 2 ? (x as tf.Tensor2D) : (tf.reshape(x, [rows, fanIn]) as tf.Tensor2D);
  let y: tf.Tensor = matMul(flat, w, options);
  if (bias) y = tf.add(y, bias);
  return x.rank === 2 ? y : tf.reshape(y, [...x.shape.slice(0, -1), units]);
}

/** Column sums of [rows, d] as ones·X: a plain matmul (wasm's Sum over axis 0 is slow). */
function columnSum(t: tf.Tensor2D): tf.Tensor1D {
  return tf.reshape(tf.matMul(tf.ones([1, t.shape[0]]), t), [t.shape[1]]) as tf.Tensor1D;
}

/**
 * Layer normalization over the last axis with its closed-form backward:
 * dx = (g − mean(g) − x̂·mean(g·x̂)) / σ with g = dy·γ; dγ = Σ dy·x̂, dβ = Σ dy over rows.
 */
export function layerNorm(x: tf.Tensor, gamma: tf.Tensor1D, beta: tf.Tensor1D, eps = 1e-5): tf.Tensor {
  const d = x.shape[x.shape.length - 1]!;
  const rows = x.size / d;
  const f = withCustomGrad(([xIn, g, b], save) => {
    const x2 = tf.reshape(xIn!, [rows, d]);
    const mean = tf.mean(x2, 1, true);
    const xc = tf.sub(x2, mean);
    const inv = tf.rsqrt(tf.add(tf.mean(tf.square(xc), 1, true), eps)); // [rows,1]
    const xhat = tf.mul(xc, inv) as tf.Tensor2D;
    save([xhat, inv, g!]);
    return {
      value: tf.reshape(tf.add(tf.mul(xhat, g!), b!), xIn!.shape),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [xh, iv, gm] = saved as [tf.Tensor2D, tf.Tensor2D, tf.Tensor1D];
        const dy2 = tf.reshape(dy, [rows, d]) as tf.Tensor2D;
        const gy = tf.mul(dy2, gm);
        const dx = tf.mul(tf.sub(tf.sub(gy, tf.mean(gy, 1, true)), tf.mul(xh, tf.mean(tf.mul(gy, xh), 1, true))), iv);
        return [tf.reshape(dx, dy.shape), columnSum(tf.mul(dy2, xh) as tf.Tensor2D), columnSum(dy2)];
      },
    };
  });
  return f(x, gamma, beta);
}

/**
 * GELU, x·Φ(x) with Φ(x) = (1 + erf(x/√2))/2 (the exact form, not the tanh approximation); the
 * gradient Φ(x) + x·φ(x) reuses the forward's Φ, so erf (slow on wasm, ~25 ns a value) runs once.
 */
export function gelu(x: tf.Tensor): tf.Tensor {
  const f = withCustomGrad(([a], save) => {
    const cdf = tf.mul(tf.add(tf.erf(tf.mul(a!, Math.SQRT1_2)), 1), 0.5);
    save([a!, cdf]);
    return {
      value: tf.mul(a!, cdf),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [s, c] = saved as [tf.Tensor, tf.Tensor];
        const pdf = tf.mul(tf.exp(tf.mul(tf.square(s), -0.5)), 1 / Math.sqrt(2 * Math.PI));
        return tf.mul(dy, tf.add(c, tf.mul(s, pdf)));
      },
    };
  });
  return f(x);
}

/** min(max(x, 0), 6) with the gradient dy·[0 < x < 6] as two Steps (no comparison kernels). */
export function relu6(x: tf.Tensor): tf.Tensor {
  const f = withCustomGrad(([a], save) => {
    save([a!]);
    return {
      value: tf.relu6(a!),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.mul(dy, tf.mul(tf.step(saved[0]!), tf.step(tf.neg(tf.sub(saved[0]!, 6))))),
    };
  });
  return f(x);
}

/**
 * Rows of `table` [vocab, dim] for the ids in x (floored, clipped to the table): tf.gather
 * forward; the table's gradient is oneHot(ids)ᵀ·dy, a matmul (tf.gather's own gradient is
 * UnsortedSegmentSum, missing on wasm). The ids get no gradient.
 */
export function embedding(x: tf.Tensor, table: tf.Tensor2D): tf.Tensor {
  const [vocab, dim] = table.shape;
  const ids = tf.cast(tf.clipByValue(tf.floor(x), 0, vocab - 1), 'int32');
  const flatIds = tf.reshape(ids, [-1]) as tf.Tensor1D;
  const f = withCustomGrad(([t], save) => {
    save([flatIds]);
    return {
      value: tf.gather(t!, flatIds),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.matMul(tf.oneHot(saved[0] as tf.Tensor1D, vocab), dy as tf.Tensor2D, true, false),
    };
  });
  return tf.reshape(f(table), [...x.shape, dim]);
}

export interface AttentionWeights {
  readonly query: tf.Tensor2D;
  readonly key: tf.Tensor2D;
  readonly value: tf.Tensor2D;
  readonly out: tf.Tensor2D;
  readonly queryBias?: tf.Tensor;
  readonly keyBias?: tf.Tensor;
  readonly valueBias?: tf.Tensor;
  readonly outBias?: tf.Tensor;
}

/**
 * Multi-head self-attention over x [n, t, d]: Q, K, V = x·W (+b) split into heads of keyDim,
 * softmax(Q·Kᵀ/√keyDim)·V, heads joined, ·W_out (+b). Plain tfjs ops (batched matmuls,
 * softmax, transposes), whose gradients every backend has; the projections use matMul.
 */
export function selfAttention(x: tf.Tensor3D, w: AttentionWeights, heads: number, options: ConvOptions = {}): tf.Tensor3D {
  const [n, t, d] = x.shape;
  const inner = w.query.shape[1];
  const keyDim = inner / heads;
  const flat = tf.reshape(x, [n * t, d]) as tf.Tensor2D;
  const project = (weight: tf.Tensor2D, bias: tf.Tensor | undefined) => {
    const y = matMul(flat, weight, options);
    // [n·t, h·k] → [n·h, t, k]
    return tf.reshape(tf.transpose(tf.reshape(bias ? tf.add(y, bias) : y, [n, t, heads, keyDim]), [0, 2, 1, 3]), [n * heads, t, keyDim]) as tf.Tensor3D;
  };
  const q = project(w.query, w.queryBias);
  const k = project(w.key, w.keyBias);
  const v = project(w.value, w.valueBias);
  const scores = tf.mul(tf.matMul(q, k, false, true), 1 / Math.sqrt(keyDim)); // [n·h,t,t]
  const attended = tf.matMul(tf.softmax(scores), v); // [n·h,t,k]
  const joined = tf.reshape(tf.transpose(tf.reshape(attended, [n, heads, t, keyDim]), [0, 2, 1, 3]), [n * t, inner]) as tf.Tensor2D;
  const y = matMul(joined, w.out);
  return tf.reshape(w.outBias ? tf.add(y, w.outBias) : y, [n, t, d]) as tf.Tensor3D;
}

/** [n, t, d] → [n, t+1, d] with `token` [d] first. */
export function prependToken(x: tf.Tensor3D, token: tf.Tensor1D): tf.Tensor3D {
  const [n, , d] = x.shape;
  const tokens = tf.mul(tf.ones([n, 1, 1]), tf.reshape(token, [1, 1, d]));
  return tf.concat([tokens, x], 1) as tf.Tensor3D;
}

/** [n, t, d] → [n, d]: token `index`. */
export function selectToken(x: tf.Tensor3D, index: number): tf.Tensor2D {
  const [n, , d] = x.shape;
  return tf.reshape(tf.slice(x, [0, index, 0], [n, 1, d]), [n, d]) as tf.Tensor2D;
}

/**
 * Inverted dropout: keeps each value with probability 1 − rate and scales it by 1/(1 − rate).
 * The mask is uniform noise from `seed` (a pure function of the run seed, the op and the step),
 * so a run and its resumption drop the same values.
 */
export function dropout(x: tf.Tensor, rate: number, seed: number): tf.Tensor {
  if (rate <= 0) return x;
  const keep = tf.step(tf.sub(tf.randomUniform(x.shape, 0, 1, 'float32', seed), rate));
  return tf.mul(x, tf.mul(keep, 1 / (1 - rate)));
}

/** Mean over every axis but the last: [n, …, c] → [n, c]. */
export function globalMean(x: tf.Tensor): tf.Tensor2D {
  const c = x.shape[x.rank - 1]!;
  return tf.mean(tf.reshape(x, [x.shape[0]!, -1, c]), 1) as tf.Tensor2D;
}

/** Maximum over every axis but the last. */
export function globalMax(x: tf.Tensor): tf.Tensor2D {
  const c = x.shape[x.rank - 1]!;
  return tf.max(tf.reshape(x, [x.shape[0]!, -1, c]), 1) as tf.Tensor2D;
}
