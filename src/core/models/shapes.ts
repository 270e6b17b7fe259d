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

function spatial(n: number, k: number, stride: number, padding: Padding): number {
  return padding === 'same' ? Math.ceil(n / stride) : Math.floor((n - k) / stride) + 1;
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

function outputShape(op: Op, get: (n: string, layer: string) => Shape, params: Map<string, readonly number[]>, spec: ModelSpec): Shape {
  const inputSize = `${spec.inputShape[0]}×${spec.inputShape[1]}`;
  switch (op.op) {
    case 'conv': {
      const [h, w, c] = get(op.input, op.name) as [number, number, number];
      const [k, , cin, cout] = params.get(op.weight)! as [number, number, number, number];
      if (c !== cin) throw new ShapeError(op.name, `${op.name}: expects ${cin} input channels, got ${c}`);
      const oh = spatial(h, k, op.stride, op.padding);
      const ow = spatial(w, k, op.stride, op.padding);
      if (oh < 1 || ow < 1) throw new ShapeError(op.name, `${op.name}: a ${k}×${k} kernel does not fit its ${h}×${w} input (model input ${inputSize} is too small)`);
      return [oh, ow, cout];
    }
    case 'maxpool': {
      const [h, w, c] = get(op.input, 'maxpool') as [number, number, number];
      const oh = spatial(h, op.size, op.stride, op.padding);
      const ow = spatial(w, op.size, op.stride, op.padding);
      if (oh < 1 || ow < 1) throw new ShapeError('maxpool', `a ${op.size}×${op.size} pool does not fit a ${h}×${w} activation (model input ${inputSize} is too small)`);
      return [oh, ow, c];
    }
    case 'dense': {
      const s = get(op.input, op.name);
      const [fanIn, units] = params.get(op.weight)! as [number, number];
      if (s.length !== 1 || s[0] !== fanIn) throw new ShapeError(op.name, `${op.name}: expects ${fanIn} inputs, got ${s.join('×')} (check the model input size ${inputSize})`);
      if (fanIn < 1) throw new ShapeError(op.name, `${op.name}: has no inputs (model input ${inputSize} is too small)`);
      return [units];
    }
    case 'batchnorm':
    case 'relu':
      return get(op.input, op.op === 'batchnorm' ? op.name : 'relu');
    case 'globalavgpool': {
      const s = get(op.input, 'globalavgpool');
      return [s[2]!];
    }
    case 'flatten':
      return [get(op.input, 'flatten').reduce((a, b) => a * b, 1)];
    case 'add': {
      const a = get(op.inputs[0], 'add');
      const b = get(op.inputs[1], 'add');
      if (a.join() !== b.join()) throw new ShapeError('add', `residual add of ${a.join('×')} and ${b.join('×')}`);
      return a;
    }
    case 'pad-shortcut': {
      const [h, w] = get(op.input, 'shortcut') as [number, number, number];
      return [Math.ceil(h / op.stride), Math.ceil(w / op.stride), op.outChannels];
    }
  }
}
