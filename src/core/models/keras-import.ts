// Reads a Keras / TensorFlow.js Layers model topology (model.json as tfjs `model.save()` or
// `tensorflowjs_converter` write it; Sequential and Functional, Keras 2 and Keras 3 node
// formats) into a `model.graph`. Supported layer classes map to graph ops; every other class is
// an issue naming the layer, its class and the file — never a crash. Weights are ignored: the
// ring generates them.
import { readFileSync, statSync } from 'node:fs';
import * as path from 'node:path';
import type { GraphConfig, GraphNodeConfig } from '../config/graph-schema';
import { INPUT_ID, NODE_ID_PATTERN } from '../config/graph-schema';
import { GraphError, GraphIssue } from './graph';

export interface ImportedGraph {
  readonly graph: GraphConfig;
  /** ModelSpec.arch: "keras:<model name>". */
  readonly arch: string;
  readonly file: string;
  /** [height, width, channels] from the model's input layer, when it gives all three. */
  readonly inputShape?: readonly [number, number, number];
  /** "layer `conv2d_1` (Conv2D) of model.json" for a node id (also the nodes a layer split into). */
  describe(id: string): string;
}

export const SUPPORTED_CLASSES = [
  'InputLayer', 'Conv2D', 'DepthwiseConv2D', 'SeparableConv2D', 'Dense', 'BatchNormalization', 'LayerNormalization',
  'Activation', 'ReLU', 'Softmax', 'MaxPooling2D', 'AveragePooling2D', 'GlobalAveragePooling2D', 'GlobalMaxPooling2D',
  'GlobalAveragePooling1D', 'GlobalMaxPooling1D', 'Flatten', 'Reshape', 'Dropout', 'Add', 'Concatenate', 'Embedding',
] as const;

const ACTIVATIONS: Record<string, GraphNodeConfig['op'] | null> = { linear: null, relu: 'relu', relu6: 'relu6', gelu: 'gelu', sigmoid: 'sigmoid', tanh: 'tanh', softmax: 'softmax' };

type Json = Record<string, unknown>;

interface KerasLayer {
  readonly className: string;
  readonly name: string;
  readonly config: Json;
  /** Names of the layers it reads (Functional); undefined in a Sequential model. */
  readonly inbound?: string[];
  readonly inboundCount: number;
}

class ImportProblem extends Error {}

const cache = new Map<string, { key: string; result: ImportedGraph | GraphError }>();

/** The graph of a model.json (relative to baseDir); throws GraphError with every problem. */
export function importedGraph(file: string, baseDir: string | undefined): ImportedGraph {
  const where: string[] = ['model', 'import'];
  if (!path.isAbsolute(file) && baseDir === undefined) {
    throw new GraphError([{ severity: 'error', code: 'import-file', path: where, message: `model.import: "${file}" is relative and this config has no folder yet; save the config or give an absolute path` }]);
  }
  const abs = path.resolve(baseDir ?? '/', file);
  let key: string;
  try {
    const st = statSync(abs);
    key = `${st.mtimeMs}:${st.size}`;
  } catch (err) {
    throw new GraphError([{ severity: 'error', code: 'import-file', path: where, message: `model.import: cannot read ${abs} (${(err as NodeJS.ErrnoException).code ?? String(err)})` }]);
  }
  const hit = cache.get(abs);
  const result = hit?.key === key ? hit.result : readImport(abs, file);
  cache.set(abs, { key, result });
  if (result instanceof GraphError) throw result;
  return result;
}

function readImport(abs: string, display: string): ImportedGraph | GraphError {
  try {
    return convertModelJson(JSON.parse(readFileSync(abs, 'utf8')) as unknown, abs, display);
  } catch (err) {
    if (err instanceof GraphError) return err;
    const why = err instanceof SyntaxError ? `not valid JSON (${err.message})` : err instanceof ImportProblem ? err.message : String(err);
    return new GraphError([{ severity: 'error', code: 'import-file', path: ['model', 'import'], message: `model.import: ${abs}: ${why}` }]);
  }
}

/**
 * model.json content → graph. `file` is its path; `display` names it in messages (default: the
 * file name). Throws GraphError (unsupported layers, every one) or ImportProblem.
 */
export function convertModelJson(json: unknown, file: string, display = path.basename(file)): ImportedGraph {
  const base = display;
  const topology = modelTopology(json);
  const className = String(topology.class_name ?? '');
  const config = topology.config as Json | Json[] | undefined;
  if (!config) throw new ImportProblem('the model topology has no "config"');
  let layers: KerasLayer[];
  let outputs: string[];
  const sequential = className === 'Sequential';
  if (sequential) {
    const list = (Array.isArray(config) ? config : (config.layers as Json[] | undefined)) ?? [];
    layers = list.map((l) => ({ className: String(l.class_name), name: String((l.config as Json)?.name ?? l.name ?? ''), config: (l.config as Json) ?? {}, inboundCount: 1 }));
    outputs = layers.length ? [layers[layers.length - 1]!.name] : [];
  } else if (className === 'Functional' || className === 'Model') {
    const cfg = config as Json;
    layers = ((cfg.layers as Json[] | undefined) ?? []).map((l) => {
      const nodes = (l.inbound_nodes as unknown[] | undefined) ?? [];
      return { className: String(l.class_name), name: String(l.name ?? (l.config as Json)?.name ?? ''), config: (l.config as Json) ?? {}, inbound: nodes.length ? historyNames(nodes[0]) : [], inboundCount: nodes.length };
    });
    outputs = ((cfg.output_layers as unknown[] | undefined) ?? []).map((o) => historyNames(o)[0] ?? String((o as unknown[])[0]));
    if (outputs.length === 0 && Array.isArray(cfg.output_layers) === false) throw new ImportProblem('the Functional model lists no output_layers');
  } else {
    throw new ImportProblem(`the model is a ${className || 'model without a class_name'}; only Sequential and Functional (Model) topologies can be imported`);
  }
  if (!layers.length) throw new ImportProblem('the model has no layers');

  // Node ids: the layer names, made valid (and unique) where needed.
  const ids = new Map<string, string>();
  const used = new Set<string>([INPUT_ID]);
  const idRe = new RegExp(NODE_ID_PATTERN);
  for (const l of layers) {
    let id = idRe.test(l.name) ? l.name : l.name.replace(/[^A-Za-z0-9_-]/g, '_').replace(/^[^A-Za-z_]/, '_$&') || 'layer';
    while (used.has(id)) id = `${id}_`;
    used.add(id);
    ids.set(l.name, id);
  }
  const layerOfId = new Map<string, KerasLayer>();
  const describe = (id: string): string => {
    const l = layerOfId.get(id) ?? layerOfId.get(id.replace(/_(act|pointwise)$/, ''));
    return l ? `layer \`${l.name}\` (${l.className}) of ${base}` : `node \`${id}\` of ${base}`;
  };

  const issues: GraphIssue[] = [];
  const problem = (l: KerasLayer, why: string) => issues.push({ severity: 'error', code: 'import-unsupported', path: ['model', 'import'], message: `${base}: layer \`${l.name}\` (${l.className}) ${why}` });
  const nodes: GraphNodeConfig[] = [];
  let inputShape: [number, number, number] | undefined;
  // Layers read layers by name; a layer's value is the last node it became (an activation split
  // off a Dense, say), or its input for the identity (a linear Activation). Resolved at the end,
  // so the layer order in the file does not matter.
  const valueOf = new Map<string, string>();
  const LAYER_REF = '\u0000';
  let previous: string | undefined;

  for (const l of layers) {
    const id = ids.get(l.name)!;
    layerOfId.set(id, l);
    const shape = (l.config.batch_input_shape ?? l.config.batch_shape) as (number | null)[] | undefined;
    if (shape && !inputShape) {
      const [, h, w, c] = shape;
      if (shape.length === 4 && typeof h === 'number' && typeof w === 'number' && typeof c === 'number') inputShape = [h, w, c];
    }
    if (l.className === 'InputLayer') {
      valueOf.set(l.name, INPUT_ID);
      continue;
    }
    if (l.inboundCount > 1) {
      problem(l, `is applied ${l.inboundCount} times (shared layers are not supported: each node has its own parameters)`);
      continue;
    }
    const refs = sequential ? [previous === undefined ? INPUT_ID : LAYER_REF + previous] : (l.inbound ?? []).map((n) => LAYER_REF + n);
    try {
      const converted = convertLayer(l, id, refs).map(withoutDefaults);
      nodes.push(...converted);
      valueOf.set(l.name, converted.length ? converted[converted.length - 1]!.id : refs.length === 1 ? refs[0]! : INPUT_ID);
      previous = l.name;
    } catch (err) {
      if (!(err instanceof ImportProblem)) throw err;
      problem(l, err.message);
    }
  }
  if (issues.length) throw new GraphError(issues);
  if (!nodes.length) throw new ImportProblem('the model has no layers besides its input');
  if (!sequential && outputs.length !== 1) throw new ImportProblem(`the model has ${outputs.length} outputs; a classifier has one`);
  const resolve = (r: string): string => {
    for (let hops = 0; r.startsWith(LAYER_REF) && hops < 10_000; hops++) {
      const name = r.slice(1);
      const v = valueOf.get(name);
      if (v === undefined) throw new ImportProblem(`a layer reads "${name}", which is not a layer of the model`);
      r = v;
    }
    return r;
  };
  for (const n of nodes) if (n.inputs) n.inputs = n.inputs.map(resolve);
  const output = resolve(LAYER_REF + (sequential ? previous! : outputs[0]!));
  const modelName = String((Array.isArray(config) ? undefined : (config as Json).name) ?? path.basename(path.dirname(file)));
  return {
    graph: { nodes, output },
    arch: `keras:${modelName}`,
    file,
    ...(inputShape ? { inputShape } : {}),
    describe,
  };
}

/** The JSON's model topology, wherever the writer put it. */
function modelTopology(json: unknown): Json {
  if (typeof json !== 'object' || json === null) throw new ImportProblem('not a model.json (expected an object)');
  const j = json as Json;
  let t = (j.modelTopology ?? j) as Json;
  // tensorflowjs_converter from Keras: {keras_version, backend, model_config: {class_name, config}}.
  if (t.model_config) t = t.model_config as Json;
  if (typeof t.class_name !== 'string') throw new ImportProblem('not a Layers model topology (no modelTopology.class_name); a graph model (tf.saved_model / GraphModel) cannot be imported');
  return t;
}

/** Layer names in one inbound node: Keras 2 `[["name", 0, 0, {}], …]`, Keras 3 `{"args": [{"config": {"keras_history": ["name", 0, 0]}}]}`. */
function historyNames(node: unknown): string[] {
  const out: string[] = [];
  const visit = (v: unknown): void => {
    if (Array.isArray(v)) {
      if (typeof v[0] === 'string' && typeof v[1] === 'number' && typeof v[2] === 'number') {
        out.push(v[0]);
        return;
      }
      v.forEach(visit);
    } else if (v && typeof v === 'object') {
      const o = v as Json;
      const cfg = o.config as Json | undefined;
      if (cfg && Array.isArray(cfg.keras_history)) out.push(String(cfg.keras_history[0]));
      else Object.values(o).forEach(visit);
    }
  };
  visit(node);
  return out;
}

function pair(v: unknown, what: string): number {
  const a = Array.isArray(v) ? v : [v];
  const [x, y] = [Number(a[0]), Number(a[1] ?? a[0])];
  if (!Number.isInteger(x) || x < 1) throw new ImportProblem(`has an invalid ${what} ${JSON.stringify(v)}`);
  if (x !== y) throw new ImportProblem(`has a non-square ${what} ${x}×${y} (only square ones are supported)`);
  return x;
}

function padding(v: unknown): 'same' | 'valid' {
  if (v === 'same' || v === 'valid') return v;
  throw new ImportProblem(`has padding "${String(v)}" (only "same" and "valid")`);
}

function channelsLast(c: Json): void {
  if (c.data_format !== undefined && c.data_format !== null && c.data_format !== 'channels_last') throw new ImportProblem(`has data_format "${String(c.data_format)}" (only channels_last)`);
}

/** A layer's activation as a node after it, or nothing for linear. */
function activationNode(name: unknown, id: string, input: string): GraphNodeConfig[] {
  const key = name === undefined || name === null ? 'linear' : typeof name === 'string' ? name : String((name as Json).class_name ?? name);
  if (!(key in ACTIVATIONS)) throw new ImportProblem(`has activation "${key}" (supported: ${Object.keys(ACTIVATIONS).join(', ')})`);
  const op = ACTIVATIONS[key];
  return op ? [{ id: `${id}_act`, op, inputs: [input] }] : [];
}

function convertLayer(l: KerasLayer, id: string, inputs: string[]): GraphNodeConfig[] {
  const c = l.config;
  const one = (): string[] => {
    if (inputs.length !== 1) throw new ImportProblem(`reads ${inputs.length} inputs, expected one`);
    return inputs;
  };
  const bias = c.use_bias === undefined ? true : Boolean(c.use_bias);
  switch (l.className) {
    case 'Conv2D': {
      channelsLast(c);
      const groups = c.groups === undefined ? 1 : Number(c.groups);
      const node: GraphNodeConfig = { id, op: 'conv2d', inputs: one(), filters: Number(c.filters), kernel: pair(c.kernel_size, 'kernel_size'), stride: pair(c.strides ?? 1, 'strides'), padding: padding(c.padding ?? 'valid'), dilation: pair(c.dilation_rate ?? 1, 'dilation_rate'), bias, ...(groups !== 1 ? { groups } : {}) };
      return [node, ...activationNode(c.activation, id, id)];
    }
    case 'DepthwiseConv2D': {
      channelsLast(c);
      const node: GraphNodeConfig = { id, op: 'depthwiseConv2d', inputs: one(), kernel: pair(c.kernel_size, 'kernel_size'), stride: pair(c.strides ?? 1, 'strides'), padding: padding(c.padding ?? 'valid'), dilation: pair(c.dilation_rate ?? 1, 'dilation_rate'), multiplier: Number(c.depth_multiplier ?? 1), bias };
      return [node, ...activationNode(c.activation, id, id)];
    }
    case 'SeparableConv2D': {
      // Keras: a depthwise kernel without bias, then a 1×1 pointwise conv with the bias.
      channelsLast(c);
      const depthwise: GraphNodeConfig = { id, op: 'depthwiseConv2d', inputs: one(), kernel: pair(c.kernel_size, 'kernel_size'), stride: pair(c.strides ?? 1, 'strides'), padding: padding(c.padding ?? 'valid'), dilation: pair(c.dilation_rate ?? 1, 'dilation_rate'), multiplier: Number(c.depth_multiplier ?? 1), bias: false };
      const pointwise: GraphNodeConfig = { id: `${id}_pointwise`, op: 'conv2d', inputs: [id], filters: Number(c.filters), kernel: 1, bias };
      return [depthwise, pointwise, ...activationNode(c.activation, id, pointwise.id)];
    }
    case 'Dense':
      return [{ id, op: 'dense', inputs: one(), units: Number(c.units), bias }, ...activationNode(c.activation, id, id)];
    case 'BatchNormalization': {
      const axis = Array.isArray(c.axis) ? c.axis[c.axis.length - 1] : c.axis ?? -1;
      if (axis !== -1 && axis !== 3 && axis !== 1) throw new ImportProblem(`normalizes axis ${JSON.stringify(c.axis)} (only the last)`);
      if (c.center === false || c.scale === false) throw new ImportProblem('has center or scale off (a BatchNorm here always learns both)');
      return [{ id, op: 'batchNorm', inputs: one(), epsilon: Number(c.epsilon ?? 1e-3) }];
    }
    case 'LayerNormalization': {
      const axis = Array.isArray(c.axis) ? (c.axis.length === 1 ? c.axis[0] : undefined) : c.axis ?? -1;
      if (axis !== -1 && axis !== 2 && axis !== 1) throw new ImportProblem(`normalizes axes ${JSON.stringify(c.axis)} (only the last)`);
      if (c.center === false || c.scale === false) throw new ImportProblem('has center or scale off (a LayerNorm here always learns both)');
      return [{ id, op: 'layerNorm', inputs: one(), epsilon: Number(c.epsilon ?? 1e-3) }];
    }
    case 'Activation': {
      // A linear Activation is the identity: no node, readers read its input.
      const nodes = activationNode(c.activation, id, one()[0]!);
      return nodes.length ? [{ ...nodes[0]!, id }] : [];
    }
    case 'ReLU': {
      const max = c.max_value;
      if ((c.negative_slope !== undefined && Number(c.negative_slope) !== 0) || (c.threshold !== undefined && Number(c.threshold) !== 0)) throw new ImportProblem('has a negative slope or threshold (only plain ReLU and ReLU6)');
      if (max === undefined || max === null) return [{ id, op: 'relu', inputs: one() }];
      if (Number(max) === 6) return [{ id, op: 'relu6', inputs: one() }];
      throw new ImportProblem(`has max_value ${String(max)} (only none or 6)`);
    }
    case 'Softmax':
      return [{ id, op: 'softmax', inputs: one() }];
    case 'MaxPooling2D':
    case 'AveragePooling2D': {
      channelsLast(c);
      const size = pair(c.pool_size ?? 2, 'pool_size');
      return [{ id, op: l.className === 'MaxPooling2D' ? 'maxPool' : 'avgPool', inputs: one(), size, stride: pair(c.strides ?? size, 'strides'), padding: padding(c.padding ?? 'valid') }];
    }
    case 'GlobalAveragePooling2D':
    case 'GlobalMaxPooling2D':
    case 'GlobalAveragePooling1D':
    case 'GlobalMaxPooling1D':
      channelsLast(c);
      if (c.keepdims === true) throw new ImportProblem('has keepdims true (only false)');
      return [{ id, op: l.className.startsWith('GlobalAverage') ? 'globalAvgPool' : 'globalMaxPool', inputs: one() }];
    case 'Flatten':
      return [{ id, op: 'flatten', inputs: one() }];
    case 'Reshape':
      return [{ id, op: 'reshape', inputs: one(), shape: (c.target_shape as number[]).map(Number) }];
    case 'Dropout':
      return [{ id, op: 'dropout', inputs: one(), rate: Number(c.rate ?? 0) }];
    case 'Add':
      return [{ id, op: 'add', inputs }];
    case 'Concatenate': {
      // Keras counts the batch axis: axis a ≥ 1 is our a − 1; negative axes are the same.
      const axis = Number(c.axis ?? -1);
      return [{ id, op: 'concat', inputs, axis: axis < 0 ? axis : axis - 1 }];
    }
    case 'Embedding':
      return [{ id, op: 'embedding', inputs: one(), vocab: Number(c.input_dim), dim: Number(c.output_dim) }];
    default:
      throw new ImportProblem(`is not supported (supported classes: ${SUPPORTED_CLASSES.join(', ')})`);
  }
}

/** Drops attributes equal to the graph op's defaults, so an imported config reads like a written one. */
function withoutDefaults(n: GraphNodeConfig): GraphNodeConfig {
  const out: Record<string, unknown> = { ...n };
  const conv = n.op === 'conv2d' || n.op === 'depthwiseConv2d';
  if (conv && n.stride === 1) delete out.stride;
  if (conv && n.dilation === 1) delete out.dilation;
  if (conv && n.padding === 'same') delete out.padding;
  if (n.op === 'depthwiseConv2d' && n.multiplier === 1) delete out.multiplier;
  if (n.bias === true) delete out.bias;
  if ((n.op === 'maxPool' || n.op === 'avgPool') && n.stride === n.size) delete out.stride;
  if ((n.op === 'maxPool' || n.op === 'avgPool') && n.padding === 'valid') delete out.padding;
  if (n.op === 'concat' && n.axis === -1) delete out.axis;
  return out as GraphNodeConfig;
}

/** Checks that an imported model's input layer fits the dataset; issues at model.import. */
export function importInputIssues(imported: ImportedGraph, input: { height: number; width: number; channels: number }): GraphIssue[] {
  const s = imported.inputShape;
  if (!s || (s[0] === input.height && s[1] === input.width && s[2] === input.channels)) return [];
  return [{ severity: 'error', code: 'import-file', path: ['model', 'import'], message: `${path.basename(imported.file)} expects ${s.join('×')} inputs, the dataset gives ${input.height}×${input.width}×${input.channels}` }];
}
