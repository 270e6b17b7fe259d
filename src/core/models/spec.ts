// A model is described as data: its parameters (with shapes and fans) and a list of ops over
// named values. Counting, planning and shape checks read this description without creating a
// single tensor (the language server relies on that); the trainer executes the same ops.

export type ParamKind =
  | 'conv'
  | 'dense'
  /** Depthwise convolution kernel [k, k, channels, multiplier]. */
  | 'depthwise'
  /** A query/key/value/output projection of multi-head self-attention, [in, out]. */
  | 'attention'
  /** An embedding table [vocabulary, dim]. */
  | 'embedding'
  | 'bias'
  | 'bn-gamma'
  | 'bn-beta'
  | 'ln-gamma'
  | 'ln-beta'
  /** A learnable token prepended to a sequence (a ViT's class token), [dim]. */
  | 'token'
  /** A learnable position embedding added to a sequence, [tokens, dim]. */
  | 'position';

/** Kernels: the kinds the ring can generate (everything else is always free). */
export const KERNEL_KINDS = ['conv', 'depthwise', 'dense', 'attention', 'embedding'] as const satisfies readonly ParamKind[];
export type KernelKind = (typeof KERNEL_KINDS)[number];
export const isKernelKind = (k: ParamKind): k is KernelKind => (KERNEL_KINDS as readonly ParamKind[]).includes(k);

export interface ParamSpec {
  readonly name: string;
  /** conv: [k, k, cin/groups, cout]; depthwise: [k, k, c, multiplier]; dense, attention: [in, out]; embedding: [vocab, dim]; position: [tokens, dim]; vectors: [n]. */
  readonly shape: readonly number[];
  readonly kind: ParamKind;
  readonly size: number;
  readonly fanIn: number;
  readonly fanOut: number;
  /** The layer (op) this parameter belongs to; bias/BN parameters share their layer's name. */
  readonly layer: string;
  /** First/last weight layer of the network: the ones the official code keeps free. */
  readonly position: 'first' | 'middle' | 'last';
}

export type Padding = 'same' | 'valid';

/** Elementwise (or, for softmax, last-axis) activations besides ReLU. */
export const ACTIVATIONS = ['relu6', 'gelu', 'sigmoid', 'tanh', 'softmax'] as const;
export type ActivationFn = (typeof ACTIVATIONS)[number];

// Values are [batch, ...shape]: images [h, w, c], token sequences [tokens, dim], vectors [n].
export type Op =
  /** groups > 1 splits the channels into independent convolutions; dilation needs stride 1. */
  | { op: 'conv'; name: string; input: string; output: string; weight: string; bias?: string; stride: number; padding: Padding; dilation?: number; groups?: number }
  /** One k×k filter per input channel and multiplier (weight [k, k, c, m]); output channels c·m. */
  | { op: 'depthwise'; name: string; input: string; output: string; weight: string; bias?: string; stride: number; padding: Padding; dilation?: number }
  /** Over the last axis: [..., in] → [..., out]. */
  | { op: 'dense'; name: string; input: string; output: string; weight: string; bias?: string }
  | { op: 'batchnorm'; name: string; input: string; output: string; gamma: string; beta: string; epsilon?: number }
  /** Normalizes over the last axis, then a per-feature scale and shift. */
  | { op: 'layernorm'; name: string; input: string; output: string; gamma: string; beta: string; epsilon: number }
  | { op: 'relu'; input: string; output: string }
  | { op: 'activation'; fn: ActivationFn; input: string; output: string }
  | { op: 'maxpool'; input: string; output: string; size: number; stride: number; padding: Padding }
  | { op: 'avgpool'; input: string; output: string; size: number; stride: number; padding: Padding }
  /** Mean over every axis but the last: [h, w, c] → [c], [tokens, dim] → [dim]. */
  | { op: 'globalavgpool'; input: string; output: string }
  | { op: 'globalmaxpool'; input: string; output: string }
  | { op: 'flatten'; input: string; output: string }
  /** Per example; `shape` has no -1 (resolved when the spec is built). */
  | { op: 'reshape'; input: string; output: string; shape: readonly number[] }
  /** Inverted dropout while training (mask from seed, step and name), identity at evaluation. */
  | { op: 'dropout'; name: string; input: string; output: string; rate: number }
  | { op: 'add'; inputs: [string, string]; output: string }
  /** Along `axis` of the per-example shape (0-based, batch excluded). */
  | { op: 'concat'; inputs: readonly string[]; output: string; axis: number }
  /** Integer ids (the input's values, floored and clipped to the table) → rows of weight [vocab, dim]. */
  | { op: 'embedding'; name: string; input: string; output: string; weight: string }
  /** Multi-head self-attention over [tokens, dim]: softmax(QKᵀ/√d_head)·V per head, then the output projection. */
  | { op: 'attention'; name: string; input: string; output: string; heads: number; query: string; key: string; value: string; out: string; queryBias?: string; keyBias?: string; valueBias?: string; outBias?: string }
  /** Prepends a learnable token [dim] to [tokens, dim]. */
  | { op: 'class-token'; name: string; input: string; output: string; token: string }
  /** Adds a learnable [tokens, dim] table. */
  | { op: 'position-embedding'; name: string; input: string; output: string; table: string }
  /** [tokens, dim] → [dim]: one token (a ViT's class token is token 0). */
  | { op: 'select-token'; input: string; output: string; index: number }
  /** CIFAR ResNet "option A" shortcut: stride-s subsampling and zero-padded channels, no parameters. */
  | { op: 'pad-shortcut'; input: string; output: string; stride: number; outChannels: number };

/** The values an op reads. */
export function opInputs(op: Op): readonly string[] {
  return op.op === 'add' || op.op === 'concat' ? op.inputs : [op.input];
}

/** What a model is built for: the dataset's image shape and class count. */
export interface ModelInput {
  readonly height: number;
  readonly width: number;
  readonly channels: number;
  readonly numClasses: number;
}

export interface ModelSpec {
  readonly arch: string;
  /** [height, width, channels] */
  readonly inputShape: readonly [number, number, number];
  readonly numClasses: number;
  readonly params: readonly ParamSpec[];
  readonly ops: readonly Op[];
  readonly input: string;
  readonly output: string;
}

export function paramCount(spec: ModelSpec): number {
  return spec.params.reduce((s, p) => s + p.size, 0);
}

/** Incrementally builds a ModelSpec while tracking the current activation shape. */
export class SpecBuilder {
  readonly params: ParamSpec[] = [];
  readonly ops: Op[] = [];
  private counter = 0;
  private readonly weightLayers: string[] = [];

  constructor(
    readonly arch: string,
    readonly inputShape: readonly [number, number, number],
    readonly numClasses: number,
  ) {}

  private fresh(prefix: string): string {
    return `${prefix}#${this.counter++}`;
  }

  private addParam(p: Omit<ParamSpec, 'size' | 'position'>): string {
    const size = p.shape.reduce((a, b) => a * b, 1);
    this.params.push({ ...p, size, position: 'middle' });
    return p.name;
  }

  conv(input: string, name: string, cin: number, cout: number, k: number, stride: number, opts: { bias?: boolean; padding?: Padding; dilation?: number; groups?: number } = {}): string {
    const groups = opts.groups ?? 1;
    const weight = this.addParam({ name: `${name}.kernel`, shape: [k, k, cin / groups, cout], kind: 'conv', fanIn: (k * k * cin) / groups, fanOut: (k * k * cout) / groups, layer: name });
    const bias = opts.bias ? this.addParam({ name: `${name}.bias`, shape: [cout], kind: 'bias', fanIn: (k * k * cin) / groups, fanOut: cout, layer: name }) : undefined;
    const output = this.fresh(name);
    const dilation = opts.dilation ?? 1;
    this.ops.push({ op: 'conv', name, input, output, weight, ...(bias ? { bias } : {}), stride, padding: opts.padding ?? 'same', ...(dilation !== 1 ? { dilation } : {}), ...(groups !== 1 ? { groups } : {}) });
    this.weightLayers.push(name);
    return output;
  }

  /** Depthwise convolution: `multiplier` k×k filters per input channel. */
  depthwise(input: string, name: string, channels: number, k: number, stride: number, opts: { bias?: boolean; padding?: Padding; dilation?: number; multiplier?: number } = {}): string {
    const m = opts.multiplier ?? 1;
    const weight = this.addParam({ name: `${name}.kernel`, shape: [k, k, channels, m], kind: 'depthwise', fanIn: k * k, fanOut: k * k * m, layer: name });
    const bias = opts.bias ? this.addParam({ name: `${name}.bias`, shape: [channels * m], kind: 'bias', fanIn: k * k, fanOut: channels * m, layer: name }) : undefined;
    const output = this.fresh(name);
    const dilation = opts.dilation ?? 1;
    this.ops.push({ op: 'depthwise', name, input, output, weight, ...(bias ? { bias } : {}), stride, padding: opts.padding ?? 'same', ...(dilation !== 1 ? { dilation } : {}) });
    this.weightLayers.push(name);
    return output;
  }

  /** Dense over the last axis (a vector, or each token of a sequence). */
  dense(input: string, name: string, units: number, fanIn: number, opts: { bias?: boolean } = {}): string {
    const weight = this.addParam({ name: `${name}.kernel`, shape: [fanIn, units], kind: 'dense', fanIn, fanOut: units, layer: name });
    const bias = opts.bias ?? true ? this.addParam({ name: `${name}.bias`, shape: [units], kind: 'bias', fanIn, fanOut: units, layer: name }) : undefined;
    const output = this.fresh(name);
    this.ops.push({ op: 'dense', name, input, output, weight, ...(bias ? { bias } : {}) });
    this.weightLayers.push(name);
    return output;
  }

  batchnorm(input: string, name: string, channels: number, epsilon?: number): string {
    const gamma = this.addParam({ name: `${name}.gamma`, shape: [channels], kind: 'bn-gamma', fanIn: 1, fanOut: 1, layer: name });
    const beta = this.addParam({ name: `${name}.beta`, shape: [channels], kind: 'bn-beta', fanIn: 1, fanOut: 1, layer: name });
    const output = this.fresh(name);
    this.ops.push({ op: 'batchnorm', name, input, output, gamma, beta, ...(epsilon !== undefined && epsilon !== 1e-5 ? { epsilon } : {}) });
    return output;
  }

  layerNorm(input: string, name: string, dim: number, epsilon = 1e-5): string {
    const gamma = this.addParam({ name: `${name}.gamma`, shape: [dim], kind: 'ln-gamma', fanIn: 1, fanOut: 1, layer: name });
    const beta = this.addParam({ name: `${name}.beta`, shape: [dim], kind: 'ln-beta', fanIn: 1, fanOut: 1, layer: name });
    const output = this.fresh(name);
    this.ops.push({ op: 'layernorm', name, input, output, gamma, beta, epsilon });
    return output;
  }

  activation(input: string, fn: ActivationFn): string {
    const output = this.fresh(fn);
    this.ops.push({ op: 'activation', fn, input, output });
    return output;
  }

  avgpool(input: string, size: number, stride: number, padding: Padding = 'valid'): string {
    const output = this.fresh('avgpool');
    this.ops.push({ op: 'avgpool', input, output, size, stride, padding });
    return output;
  }

  globalMaxPool(input: string): string {
    const output = this.fresh('gmp');
    this.ops.push({ op: 'globalmaxpool', input, output });
    return output;
  }

  reshape(input: string, shape: readonly number[]): string {
    const output = this.fresh('reshape');
    this.ops.push({ op: 'reshape', input, output, shape: [...shape] });
    return output;
  }

  dropout(input: string, name: string, rate: number): string {
    const output = this.fresh(name);
    this.ops.push({ op: 'dropout', name, input, output, rate });
    return output;
  }

  concat(inputs: readonly string[], axis: number): string {
    const output = this.fresh('concat');
    this.ops.push({ op: 'concat', inputs: [...inputs], output, axis });
    return output;
  }

  embedding(input: string, name: string, vocab: number, dim: number): string {
    const weight = this.addParam({ name: `${name}.embeddings`, shape: [vocab, dim], kind: 'embedding', fanIn: 1, fanOut: dim, layer: name });
    const output = this.fresh(name);
    this.ops.push({ op: 'embedding', name, input, output, weight });
    this.weightLayers.push(name);
    return output;
  }

  /** Multi-head self-attention over [tokens, dim], heads × keyDim wide inside. */
  attention(input: string, name: string, dim: number, heads: number, keyDim: number, opts: { bias?: boolean } = {}): string {
    const inner = heads * keyDim;
    const proj = (part: string, fanIn: number, fanOut: number) => {
      const w = this.addParam({ name: `${name}.${part}.kernel`, shape: [fanIn, fanOut], kind: 'attention', fanIn, fanOut, layer: name });
      const b = opts.bias ?? true ? this.addParam({ name: `${name}.${part}.bias`, shape: [fanOut], kind: 'bias', fanIn, fanOut, layer: name }) : undefined;
      return [w, b] as const;
    };
    const [query, queryBias] = proj('query', dim, inner);
    const [key, keyBias] = proj('key', dim, inner);
    const [value, valueBias] = proj('value', dim, inner);
    const [out, outBias] = proj('output', inner, dim);
    const output = this.fresh(name);
    this.ops.push({
      op: 'attention', name, input, output, heads, query, key, value, out,
      ...(queryBias ? { queryBias } : {}), ...(keyBias ? { keyBias } : {}), ...(valueBias ? { valueBias } : {}), ...(outBias ? { outBias } : {}),
    });
    this.weightLayers.push(name);
    return output;
  }

  classToken(input: string, name: string, dim: number): string {
    const token = this.addParam({ name: `${name}.token`, shape: [dim], kind: 'token', fanIn: 1, fanOut: dim, layer: name });
    const output = this.fresh(name);
    this.ops.push({ op: 'class-token', name, input, output, token });
    return output;
  }

  positionEmbedding(input: string, name: string, tokens: number, dim: number): string {
    const table = this.addParam({ name: `${name}.embeddings`, shape: [tokens, dim], kind: 'position', fanIn: 1, fanOut: dim, layer: name });
    const output = this.fresh(name);
    this.ops.push({ op: 'position-embedding', name, input, output, table });
    return output;
  }

  selectToken(input: string, index: number): string {
    const output = this.fresh('token');
    this.ops.push({ op: 'select-token', input, output, index });
    return output;
  }

  relu(input: string): string {
    const output = this.fresh('relu');
    this.ops.push({ op: 'relu', input, output });
    return output;
  }

  maxpool(input: string, size: number, stride: number, padding: Padding = 'valid'): string {
    const output = this.fresh('maxpool');
    this.ops.push({ op: 'maxpool', input, output, size, stride, padding });
    return output;
  }

  globalAvgPool(input: string): string {
    const output = this.fresh('gap');
    this.ops.push({ op: 'globalavgpool', input, output });
    return output;
  }

  flatten(input: string): string {
    const output = this.fresh('flatten');
    this.ops.push({ op: 'flatten', input, output });
    return output;
  }

  add(a: string, b: string): string {
    const output = this.fresh('add');
    this.ops.push({ op: 'add', inputs: [a, b], output });
    return output;
  }

  padShortcut(input: string, stride: number, outChannels: number): string {
    const output = this.fresh('shortcut');
    this.ops.push({ op: 'pad-shortcut', input, output, stride, outChannels });
    return output;
  }

  build(output: string): ModelSpec {
    const first = this.weightLayers[0];
    const last = this.weightLayers[this.weightLayers.length - 1];
    const params = this.params.map((p) => ({ ...p, position: p.layer === first ? 'first' : p.layer === last ? 'last' : 'middle' }) as ParamSpec);
    return { arch: this.arch, inputShape: this.inputShape, numClasses: this.numClasses, params, ops: this.ops, input: 'input', output };
  }
}
