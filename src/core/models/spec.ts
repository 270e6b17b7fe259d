// A model is described as data: its parameters (with shapes and fans) and a list of ops over
// named values. Counting, planning and shape checks read this description without creating a
// single tensor (the language server relies on that); the trainer executes the same ops.

export type ParamKind = 'conv' | 'dense' | 'bias' | 'bn-gamma' | 'bn-beta';

export interface ParamSpec {
  readonly name: string;
  /** conv: [kh, kw, cin, cout]; dense: [in, out]; vectors: [n]. */
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

export type Op =
  | { op: 'conv'; name: string; input: string; output: string; weight: string; bias?: string; stride: number; padding: Padding }
  | { op: 'dense'; name: string; input: string; output: string; weight: string; bias?: string }
  | { op: 'batchnorm'; name: string; input: string; output: string; gamma: string; beta: string }
  | { op: 'relu'; input: string; output: string }
  | { op: 'maxpool'; input: string; output: string; size: number; stride: number; padding: Padding }
  | { op: 'globalavgpool'; input: string; output: string }
  | { op: 'flatten'; input: string; output: string }
  | { op: 'add'; inputs: [string, string]; output: string }
  /** CIFAR ResNet "option A" shortcut: stride-s subsampling and zero-padded channels, no parameters. */
  | { op: 'pad-shortcut'; input: string; output: string; stride: number; outChannels: number };

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

  conv(input: string, name: string, cin: number, cout: number, k: number, stride: number, opts: { bias?: boolean; padding?: Padding } = {}): string {
    const weight = this.addParam({ name: `${name}.kernel`, shape: [k, k, cin, cout], kind: 'conv', fanIn: k * k * cin, fanOut: k * k * cout, layer: name });
    const bias = opts.bias ? this.addParam({ name: `${name}.bias`, shape: [cout], kind: 'bias', fanIn: k * k * cin, fanOut: cout, layer: name }) : undefined;
    const output = this.fresh(name);
    this.ops.push({ op: 'conv', name, input, output, weight, ...(bias ? { bias } : {}), stride, padding: opts.padding ?? 'same' });
    this.weightLayers.push(name);
    return output;
  }

  dense(input: string, name: string, units: number, fanIn: number): string {
    const weight = this.addParam({ name: `${name}.kernel`, shape: [fanIn, units], kind: 'dense', fanIn, fanOut: units, layer: name });
    const bias = this.addParam({ name: `${name}.bias`, shape: [units], kind: 'bias', fanIn, fanOut: units, layer: name });
    const output = this.fresh(name);
    this.ops.push({ op: 'dense', name, input, output, weight, bias });
    this.weightLayers.push(name);
    return output;
  }

  batchnorm(input: string, name: string, channels: number): string {
    const gamma = this.addParam({ name: `${name}.gamma`, shape: [channels], kind: 'bn-gamma', fanIn: 1, fanOut: 1, layer: name });
    const beta = this.addParam({ name: `${name}.beta`, shape: [channels], kind: 'bn-beta', fanIn: 1, fanOut: 1, layer: name });
    const output = this.fresh(name);
    this.ops.push({ op: 'batchnorm', name, input, output, gamma, beta });
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
