// Shape inference over a ModelSpec, without tensors: catches impossible configurations
// (an input too small for the strides and pools, a dense layer whose fan-in does not match)
// before any training starts.
import type { ModelSpec, Op, Padding } from './spec';

export class ShapeError extends Error {
  constructor(
    readonly layer: string,
    message: string,
  ) {
    super(message);
    this.name = 'ShapeError';
  }
}

type Shape = number[];

const dims = (s: readonly number[]) => s.join('×');

/** Output size of a window op along one axis (TF's "same" and "valid"). */
export function spatial(n: number, k: number, stride: number, padding: Padding, dilation = 1): number {
  const eff = dilation * (k - 1) + 1;
  return padding === 'same' ? Math.ceil(n / stride) : Math.floor((n - eff) / stride) + 1;
}

/** Returns the shape (without batch) of every named value; throws ShapeError when impossible. */
export function inferShapes(spec: ModelSpec): Map<string, Shape> {
  const shapes = new Map<string, Shape>([[spec.input, [...spec.inputShape]]]);
  const params = new Map(spec.params.map((p) => [p.name, p.shape]));
  const get = (name: string, layer: string): Shape => {
    const s = shapes.get(name);
    if (!s) throw new ShapeError(layer, `${layer}: input ${name} is not defined`);
    return s;
  };
  for (const op of spec.ops) shapes.set(op.output, outputShape(op, get, params, spec));
  return shapes;
}

function image(s: Shape, layer: string, what: string): [number, number, number] {
  if (s.length !== 3) throw new ShapeError(layer, `${layer}: ${what} needs an image (height×width×channels), got ${dims(s)}`);
  return s as [number, number, number];
}

function sequence(s: Shape, layer: string, what: string): [number, number] {
  if (s.length !== 2) throw new ShapeError(layer, `${layer}: ${what} needs a token sequence (tokens×dim), got ${dims(s)}`);
  return s as [number, number];
}

function outputShape(op: Op, get: (n: string, layer: string) => Shape, params: Map<string, readonly number[]>, spec: ModelSpec): Shape {
  const inputSize = `${spec.inputShape[0]}×${spec.inputShape[1]}`;
  switch (op.op) {
    case 'conv': {
      const [h, w, c] = image(get(op.input, op.name), op.name, 'a convolution');
      const [k, , cinPerGroup, cout] = params.get(op.weight)! as [number, number, number, number];
      const groups = op.groups ?? 1;
      if (c !== cinPerGroup * groups) throw new ShapeError(op.name, `${op.name}: expects ${cinPerGroup * groups} input channels, got ${c}`);
      const oh = spatial(h, k, op.stride, op.padding, op.dilation);
      const ow = spatial(w, k, op.stride, op.padding, op.dilation);
      if (oh < 1 || ow < 1) throw new ShapeError(op.name, `${op.name}: a ${k}×${k} kernel does not fit its ${h}×${w} input (model input ${inputSize} is too small)`);
      return [oh, ow, cout];
    }
    case 'depthwise': {
      const [h, w, c] = image(get(op.input, op.name), op.name, 'a depthwise convolution');
      const [k, , channels, m] = params.get(op.weight)! as [number, number, number, number];
      if (c !== channels) throw new ShapeError(op.name, `${op.name}: expects ${channels} input channels, got ${c}`);
      const oh = spatial(h, k, op.stride, op.padding, op.dilation);
      const ow = spatial(w, k, op.stride, op.padding, op.dilation);
      if (oh < 1 || ow < 1) throw new ShapeError(op.name, `${op.name}: a ${k}×${k} kernel does not fit its ${h}×${w} input (model input ${inputSize} is too small)`);
      return [oh, ow, c * m];
    }
    case 'maxpool':
    case 'avgpool': {
      const [h, w, c] = image(get(op.input, op.op), op.op, 'pooling');
      const oh = spatial(h, op.size, op.stride, op.padding);
      const ow = spatial(w, op.size, op.stride, op.padding);
      if (oh < 1 || ow < 1) throw new ShapeError(op.op, `a ${op.size}×${op.size} pool does not fit a ${h}×${w} activation (model input ${inputSize} is too small)`);
      return [oh, ow, c];
    }
    case 'dense': {
      const s = get(op.input, op.name);
      const [fanIn, units] = params.get(op.weight)! as [number, number];
      if (s.length < 1 || s[s.length - 1] !== fanIn) throw new ShapeError(op.name, `${op.name}: expects ${fanIn} inputs, got ${dims(s)} (check the model input size ${inputSize})`);
      if (fanIn < 1) throw new ShapeError(op.name, `${op.name}: has no inputs (model input ${inputSize} is too small)`);
      return [...s.slice(0, -1), units];
    }
    case 'batchnorm':
    case 'layernorm': {
      const s = get(op.input, op.name);
      const c = params.get(op.gamma)![0]!;
      if (s[s.length - 1] !== c) throw new ShapeError(op.name, `${op.name}: normalizes ${c} features, got ${dims(s)}`);
      return s;
    }
    case 'relu':
    case 'activation':
    case 'dropout':
      return get(op.input, op.op === 'dropout' ? op.name : op.op);
    case 'globalavgpool':
    case 'globalmaxpool': {
      const s = get(op.input, op.op);
      if (s.length < 2) throw new ShapeError(op.op, `global pooling needs an image or a sequence, got ${dims(s)}`);
      return [s[s.length - 1]!];
    }
    case 'flatten':
      return [get(op.input, 'flatten').reduce((a, b) => a * b, 1)];
    case 'reshape': {
      const s = get(op.input, 'reshape');
      const from = s.reduce((a, b) => a * b, 1);
      const to = op.shape.reduce((a, b) => a * b, 1);
      if (from !== to) throw new ShapeError('reshape', `reshape of ${dims(s)} (${from} values) to ${dims(op.shape)} (${to})`);
      return [...op.shape];
    }
    case 'add': {
      const a = get(op.inputs[0], 'add');
      const b = get(op.inputs[1], 'add');
      if (a.join() !== b.join()) throw new ShapeError('add', `residual add of ${dims(a)} and ${dims(b)}`);
      return a;
    }
    case 'concat': {
      const all = op.inputs.map((i) => get(i, 'concat'));
      const first = all[0]!;
      for (const s of all) {
        if (s.length !== first.length || s.some((d, i) => i !== op.axis && d !== first[i])) throw new ShapeError('concat', `concat along axis ${op.axis} of ${all.map(dims).join(' and ')}`);
      }
      return first.map((d, i) => (i === op.axis ? all.reduce((sum, s) => sum + s[i]!, 0) : d));
    }
    case 'embedding': {
      const s = get(op.input, op.name);
      const [, dim] = params.get(op.weight)! as [number, number];
      return [...s, dim];
    }
    case 'attention': {
      const [t, d] = sequence(get(op.input, op.name), op.name, 'self-attention');
      const [fanIn] = params.get(op.query)! as [number, number];
      if (fanIn !== d) throw new ShapeError(op.name, `${op.name}: expects ${fanIn}-dim tokens, got ${t}×${d}`);
      return [t, params.get(op.out)![1]!];
    }
    case 'class-token': {
      const [t, d] = sequence(get(op.input, op.name), op.name, 'a class token');
      if (params.get(op.token)![0] !== d) throw new ShapeError(op.name, `${op.name}: a ${params.get(op.token)![0]}-dim token for ${d}-dim tokens`);
      return [t + 1, d];
    }
    case 'position-embedding': {
      const s = sequence(get(op.input, op.name), op.name, 'a position embedding');
      const table = params.get(op.table)!;
      if (table.join() !== s.join()) throw new ShapeError(op.name, `${op.name}: a ${dims(table)} table for a ${dims(s)} sequence`);
      return s;
    }
    case 'select-token': {
      const [t, d] = sequence(get(op.input, 'select-token'), 'select-token', 'selecting a token');
      if (op.index >= t) throw new ShapeError('select-token', `token ${op.index} of a ${t}-token sequence`);
      return [d];
    }
    case 'pad-shortcut': {
      const [h, w] = get(op.input, 'shortcut') as [number, number, number];
      return [Math.ceil(h / op.stride), Math.ceil(w / op.stride), op.outChannels];
    }
  }
}
