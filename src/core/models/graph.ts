// Compiles `model.graph` into a ModelSpec: blocks expanded (each repeat with its own
// parameters), nodes ordered by their inputs, shapes inferred from the dataset's input, and every
// problem reported as an issue at the JSON path of the node at fault — the language server
// underlines it there, the CLI and trainer print it. A spec compiled from a graph is the same
// kind of object as a built-in's, so plan, DoF accounting, training and export need nothing else.
import { GRAPH_OPS, GraphAttribute, GraphBlockConfig, GraphConfig, GraphNodeConfig, GraphOpName, INPUT_ID } from '../config/graph-schema';
import { ShapeError, spatial } from './shapes';
import { ModelInput, ModelSpec, SpecBuilder } from './spec';

export type JsonPath = (string | number)[];

export type GraphIssueCode =
  | 'graph-unknown-input'
  | 'graph-unknown-block'
  | 'graph-duplicate-id'
  | 'graph-attribute'
  | 'graph-cycle'
  | 'graph-shape'
  | 'graph-unreachable'
  | 'graph-output'
  | 'import-unsupported'
  | 'import-file';

export interface GraphIssue {
  readonly severity: 'error' | 'warning';
  readonly code: GraphIssueCode;
  /** JSON path in the config of what is at fault. */
  readonly path: JsonPath;
  readonly message: string;
  /** Replace the value at `path` with newText (JSON). */
  readonly fix?: { readonly title: string; readonly newText: string };
}

/** A graph that cannot become a model: every error issue, the first as the message. */
export class GraphError extends ShapeError {
  constructor(readonly issues: readonly GraphIssue[]) {
    super(issues[0]?.path.join('.') ?? 'model.graph', issues.filter((i) => i.severity === 'error').map((i) => i.message).join('\n'));
    this.name = 'GraphError';
  }
}

export interface CompileOptions {
  /** ModelSpec.arch: "graph", or the imported model's name. */
  readonly arch: string;
  /** Where the graph sits in the config (["model", "graph"]). */
  readonly basePath: JsonPath;
  /** Set for an imported graph: every issue is reported at this path (the graph is not in the config). */
  readonly fixedPath?: JsonPath;
  /** Turns a node's full id into the name a message uses (an imported layer: its file and class). */
  readonly describe?: (id: string) => string;
}

export interface CompileResult {
  readonly spec?: ModelSpec;
  readonly issues: GraphIssue[];
  /** Notes that are not problems (a final softmax left to the loss). */
  readonly notes: string[];
  /** Output shape (no batch) of every node built, by full id ("stage1.0.conv1"). */
  readonly shapes: ReadonlyMap<string, readonly number[]>;
  /** The full ids each config node became, by its JSON path joined with "." (a block's node: one per repeat). */
  readonly instances: ReadonlyMap<string, readonly string[]>;
}

/** One node after block expansion. */
interface Instance {
  readonly id: string;
  readonly node: GraphNodeConfig;
  readonly path: JsonPath;
  /** Full ids of its inputs. */
  readonly inputs: string[];
}

const dims = (s: readonly number[]) => s.join('×');
const MAX_BLOCK_DEPTH = 16;

export function compileGraph(graph: GraphConfig, input: ModelInput, options: CompileOptions): CompileResult {
  const issues: GraphIssue[] = [];
  const notes: string[] = [];
  const shapes = new Map<string, number[]>();
  const instanceIds = new Map<string, string[]>();
  const done = () => ({ issues, notes, shapes, instances: instanceIds });
  const at = (path: JsonPath) => options.fixedPath ?? path;
  const name = (id: string) => (options.describe ? options.describe(id) : `node \`${id}\``);
  const report = (issue: GraphIssue) => issues.push(options.fixedPath ? { ...issue, path: options.fixedPath, fix: undefined } as GraphIssue : issue);

  // 1. Expansion: blocks inlined, references resolved to full ids.
  const instances: Instance[] = [];
  const nodesPath = [...options.basePath, 'nodes'];
  const topIds = expandScope(graph.nodes, nodesPath, '', INPUT_ID, graph.blocks ?? {}, [...options.basePath, 'blocks'], 0, [], instances, report, name);
  if (!topIds) return done();
  const byId = new Map(instances.map((i) => [i.id, i]));
  for (const inst of instances) {
    const key = inst.path.join('.');
    instanceIds.set(key, [...(instanceIds.get(key) ?? []), inst.id]);
  }

  // 2. The output, then what reaches it.
  const outputRef = graph.output ?? graph.nodes[graph.nodes.length - 1]!.id;
  let output = topIds.get(outputRef);
  if (output === undefined) {
    report({ severity: 'error', code: 'graph-output', path: at([...options.basePath, 'output']), message: `graph.output: "${outputRef}" is not a node of the graph`, ...closestFix(outputRef, [...topIds.keys()]) });
    return done();
  }
  if (issues.some((i) => i.severity === 'error')) return done();

  // 3. Order: inputs before the nodes that read them; what is left over sits on a cycle.
  const order = topologicalOrder(instances, byId);
  if (order.cycle) {
    const first = byId.get(order.cycle[0]!)!;
    report({ severity: 'error', code: 'graph-cycle', path: at(fieldPath(first, 'inputs')), message: `${name(first.id)}: the graph has a cycle (${[...order.cycle, order.cycle[0]].map((id) => `\`${id}\``).join(' → ')}); a node cannot depend on its own output` });
    return done();
  }

  // A softmax giving the logits is left to the loss (softmax cross-entropy takes logits).
  const outNode = byId.get(output);
  if (outNode && outNode.node.op === 'softmax') {
    notes.push(`the final softmax (${name(output)}) is left out: the loss applies it to the logits`);
    output = outNode.inputs[0]!;
  }
  const needed = ancestors(output, byId);
  for (const inst of instances) {
    if (needed.has(inst.id) || (outNode && inst.id === outNode.id)) continue;
    report({ severity: 'warning', code: 'graph-unreachable', path: at([...inst.path, 'id']), message: `${name(inst.id)}: no path from it reaches the output \`${outputRef}\`; it is left out of the model` });
  }

  // 4. Shapes, node by node, into a spec.
  const b = new SpecBuilder(options.arch, [input.height, input.width, input.channels], input.numClasses);
  const values = new Map<string, { value: string; shape: number[] }>([[INPUT_ID, { value: 'input', shape: [input.height, input.width, input.channels] }]]);
  const failed = new Set<string>();
  for (const id of order.ids) {
    if (!needed.has(id)) continue;
    const inst = byId.get(id)!;
    if (inst.inputs.some((i) => failed.has(i))) {
      failed.add(id);
      continue;
    }
    const ins = inst.inputs.map((i) => values.get(i)!);
    try {
      const v = buildNode(b, inst, ins, input.numClasses);
      values.set(id, v);
      shapes.set(id, v.shape);
    } catch (err) {
      if (!(err instanceof NodeShapeError)) throw err;
      failed.add(id);
      report({ severity: 'error', code: 'graph-shape', path: at(fieldPath(inst, err.attribute)), message: `${name(id)}: ${err.message}`, ...(err.fix ? { fix: err.fix } : {}) });
    }
  }
  if (issues.some((i) => i.severity === 'error')) return done();

  const out = values.get(output)!;
  if (out.shape.length !== 1) {
    report({ severity: 'error', code: 'graph-output', path: at(outputPathOf(graph, options.basePath, outputRef, byId)), message: `${name(output)} gives the output, shaped ${dims(out.shape)}: the logits must be a vector of ${input.numClasses} (numClasses); end with flatten or globalAvgPool and a dense layer` });
    return done();
  }
  if (out.shape[0] !== input.numClasses) {
    const last = byId.get(output);
    const unitsPath = last && last.node.op === 'dense' ? fieldPath(last, 'units') : outputPathOf(graph, options.basePath, outputRef, byId);
    report({
      severity: 'error', code: 'graph-output', path: at(unitsPath),
      message: `${name(output)} gives ${out.shape[0]} outputs, the dataset has ${input.numClasses} classes`,
      ...(last && last.node.op === 'dense' ? { fix: { title: 'Set units to "numClasses"', newText: '"numClasses"' } } : {}),
    });
    return done();
  }
  return { spec: b.build(out.value), ...done() };
}

/** Compiles or throws a GraphError with every error; warnings do not stop a build. */
export function buildGraphSpec(graph: GraphConfig, input: ModelInput, options: CompileOptions): ModelSpec {
  const r = compileGraph(graph, input, options);
  if (!r.spec) throw new GraphError(r.issues.filter((i) => i.severity === 'error'));
  return r.spec;
}

/** The node's field when the config writes it, else its id (what an editor underlines). */
function fieldPath(inst: Instance, attribute: string | undefined): JsonPath {
  return attribute && (inst.node as Record<string, unknown>)[attribute] !== undefined ? [...inst.path, attribute] : [...inst.path, 'id'];
}

function outputPathOf(graph: GraphConfig, base: JsonPath, ref: string, byId: Map<string, Instance>): JsonPath {
  if (graph.output !== undefined) return [...base, 'output'];
  const inst = byId.get(ref);
  return inst ? [...inst.path, 'id'] : [...base, 'nodes'];
}

type Report = (issue: GraphIssue) => void;

/**
 * Expands one scope (the graph's nodes, or a block's) into instances; returns its ids (local →
 * full) or undefined when a reference could not be resolved.
 */
function expandScope(
  nodes: readonly GraphNodeConfig[], nodesPath: JsonPath, prefix: string, inputFull: string,
  blocks: Readonly<Record<string, GraphBlockConfig>>, blocksPath: JsonPath, depth: number, blockStack: string[],
  out: Instance[], report: Report, name: (id: string) => string,
): Map<string, string> | undefined {
  const local = new Map<string, string>(); // local id → the full id of its value (a block: its output)
  const seen = new Map<string, number>();
  let ok = true;
  nodes.forEach((n, i) => {
    if (n.id === INPUT_ID) {
      report({ severity: 'error', code: 'graph-duplicate-id', path: [...nodesPath, i, 'id'], message: `"${INPUT_ID}" is the ${prefix ? 'block' : 'model'} input; give this node another id` });
      ok = false;
    } else if (seen.has(n.id)) {
      report({ severity: 'error', code: 'graph-duplicate-id', path: [...nodesPath, i, 'id'], message: `node id "${n.id}" is used twice (also node ${seen.get(n.id)! + 1} of this list)` });
      ok = false;
    }
    seen.set(n.id, i);
    ok = checkAttributes(n, [...nodesPath, i], report) && ok;
  });
  if (!ok) return undefined;

  // A node without inputs reads the node before it in the list (the first one reads "input").
  const full = (id: string) => (prefix ? `${prefix}.${id}` : id);
  const pending: { n: GraphNodeConfig; i: number; refs: string[]; refPaths: JsonPath[] }[] = [];
  nodes.forEach((n, i) => {
    const refs = n.inputs ?? [i === 0 ? INPUT_ID : nodes[i - 1]!.id];
    const refPaths = n.inputs ? n.inputs.map((_, j) => [...nodesPath, i, 'inputs', j]) : refs.map(() => [...nodesPath, i, 'id']);
    pending.push({ n, i, refs, refPaths });
  });
  const known = new Set(nodes.map((n) => n.id));
  for (const { n, i, refs, refPaths } of pending) {
    refs.forEach((r, j) => {
      if (r === INPUT_ID || known.has(r)) return;
      report({ severity: 'error', code: 'graph-unknown-input', path: refPaths[j]!, message: `${name(full(n.id))}: input "${r}" is not a node of this ${prefix ? 'block' : 'graph'} (nor "${INPUT_ID}")`, ...closestFix(r, [INPUT_ID, ...known].filter((k) => k !== n.id)) });
      ok = false;
    });
    if (n.op === 'block') {
      const blockName = n.block!;
      const block = blocks[blockName];
      if (!block) {
        report({ severity: 'error', code: 'graph-unknown-block', path: [...nodesPath, i, 'block'], message: `${name(full(n.id))}: no block "${blockName}" in graph.blocks${Object.keys(blocks).length ? ` (blocks: ${Object.keys(blocks).join(', ')})` : ''}`, ...closestFix(blockName, Object.keys(blocks)) });
        ok = false;
      } else if (blockStack.includes(blockName) || depth >= MAX_BLOCK_DEPTH) {
        report({ severity: 'error', code: 'graph-cycle', path: [...nodesPath, i, 'block'], message: `${name(full(n.id))}: block "${blockName}" contains itself (${[...blockStack, blockName].join(' → ')})` });
        ok = false;
      }
    }
  }
  if (!ok) return undefined;

  // Every node's value id is known before expanding anything (a block node's is its last
  // repeat's output), so references may point forward in the list.
  for (const { n } of pending) {
    const v = valueIdOf(n, full(n.id), blocks, depth);
    if (v === undefined) {
      report({ severity: 'error', code: 'graph-output', path: [...blocksPath, n.block!, 'output'], message: `block "${n.block}": its output is not one of its nodes` });
      return undefined;
    }
    local.set(n.id, v);
  }
  const resolve = (r: string) => (r === INPUT_ID ? inputFull : local.get(r)!);
  for (const { n, i, refs } of pending) {
    const path = [...nodesPath, i];
    if (n.op !== 'block') {
      out.push({ id: full(n.id), node: n, path, inputs: refs.map(resolve) });
      continue;
    }
    const block = blocks[n.block!]!;
    const outRef = block.output ?? block.nodes[block.nodes.length - 1]!.id;
    const outNode = block.nodes.find((b) => b.id === outRef)!;
    const repeat = n.repeat ?? 1;
    let current = resolve(refs[0]!);
    for (let k = 0; k < repeat; k++) {
      const p = repeat === 1 ? full(n.id) : `${full(n.id)}.${k}`;
      const inner = expandScope(block.nodes, [...blocksPath, n.block!, 'nodes'], p, current, blocks, blocksPath, depth + 1, [...blockStack, n.block!], out, report, name);
      if (!inner) return undefined;
      current = valueIdOf(outNode, `${p}.${outRef}`, blocks, depth + 1)!;
    }
  }
  return ok ? local : undefined;
}

/** The full id of a node's value: itself, or for a block node its last repeat's output. */
function valueIdOf(n: GraphNodeConfig, fullId: string, blocks: Readonly<Record<string, GraphBlockConfig>>, depth: number): string | undefined {
  if (n.op !== 'block') return fullId;
  const block = blocks[n.block!];
  if (!block || depth > MAX_BLOCK_DEPTH) return undefined;
  const repeat = n.repeat ?? 1;
  const last = repeat === 1 ? fullId : `${fullId}.${repeat - 1}`;
  const outRef = block.output ?? block.nodes[block.nodes.length - 1]!.id;
  const outNode = block.nodes.find((b) => b.id === outRef);
  return outNode ? valueIdOf(outNode, `${last}.${outRef}`, blocks, depth + 1) : undefined;
}

/** Attributes allowed and required by the node's op; every problem reported at its path. */
function checkAttributes(n: GraphNodeConfig, path: JsonPath, report: Report): boolean {
  const info = GRAPH_OPS[n.op];
  const allowed = new Set<string>(['id', 'op', 'inputs', ...info.required, ...info.optional]);
  let ok = true;
  for (const key of Object.keys(n) as (keyof GraphNodeConfig)[]) {
    if (n[key] === undefined || allowed.has(key)) continue;
    const takes = [...info.required, ...info.optional];
    report({ severity: 'error', code: 'graph-attribute', path: [...path, key], message: `node "${n.id}": ${n.op} has no attribute "${key}"${takes.length ? ` (it takes ${takes.join(', ')})` : ' (it takes none)'}` });
    ok = false;
  }
  for (const key of info.required as readonly GraphAttribute[]) {
    if (n[key] !== undefined) continue;
    report({ severity: 'error', code: 'graph-attribute', path: [...path, 'op'], message: `node "${n.id}": ${n.op} needs "${key}"` });
    ok = false;
  }
  const many = (info as { inputs?: string }).inputs === 'many';
  const count = n.inputs?.length ?? 1;
  if (many && count < 2) {
    report({ severity: 'error', code: 'graph-attribute', path: [...path, n.inputs ? 'inputs' : 'op'], message: `node "${n.id}": ${n.op} needs two or more inputs` });
    ok = false;
  }
  if (!many && count !== 1) {
    report({ severity: 'error', code: 'graph-attribute', path: [...path, 'inputs'], message: `node "${n.id}": ${n.op} reads one input, got ${count}` });
    ok = false;
  }
  return ok;
}

function topologicalOrder(instances: readonly Instance[], byId: Map<string, Instance>): { ids: string[]; cycle?: string[] } {
  const indegree = new Map<string, number>();
  const readers = new Map<string, string[]>();
  for (const inst of instances) {
    indegree.set(inst.id, 0);
    for (const i of inst.inputs) {
      if (!byId.has(i)) continue; // the model input
      indegree.set(inst.id, indegree.get(inst.id)! + 1);
      readers.set(i, [...(readers.get(i) ?? []), inst.id]);
    }
  }
  // Ready nodes in list order: the spec follows the config's order wherever it can.
  const ids: string[] = [];
  const ready = instances.filter((i) => indegree.get(i.id) === 0).map((i) => i.id);
  const position = new Map(instances.map((inst, k) => [inst.id, k]));
  while (ready.length) {
    ready.sort((a, b) => position.get(a)! - position.get(b)!);
    const id = ready.shift()!;
    ids.push(id);
    for (const r of readers.get(id) ?? []) {
      indegree.set(r, indegree.get(r)! - 1);
      if (indegree.get(r) === 0) ready.push(r);
    }
  }
  if (ids.length === instances.length) return { ids };
  // Walk inputs among the left-over nodes until one repeats: that loop is the cycle.
  const left = new Set(instances.filter((i) => !ids.includes(i.id)).map((i) => i.id));
  let at = [...left][0]!;
  const walk: string[] = [];
  while (!walk.includes(at)) {
    walk.push(at);
    at = byId.get(at)!.inputs.find((i) => left.has(i))!;
  }
  return { ids, cycle: walk.slice(walk.indexOf(at)).reverse() };
}

function ancestors(output: string, byId: Map<string, Instance>): Set<string> {
  const out = new Set<string>();
  const stack = [output];
  while (stack.length) {
    const id = stack.pop()!;
    if (out.has(id) || !byId.has(id)) continue;
    out.add(id);
    stack.push(...byId.get(id)!.inputs);
  }
  return out;
}

/** A shape problem of one node; `attribute` is the field to underline. */
class NodeShapeError extends Error {
  constructor(message: string, readonly attribute?: string, readonly fix?: { title: string; newText: string }) {
    super(message);
  }
}

type Value = { value: string; shape: number[] };

function need(cond: boolean, message: string, attribute?: string, fix?: { title: string; newText: string }): asserts cond {
  if (!cond) throw new NodeShapeError(message, attribute, fix);
}

function imageOf(v: Value, op: string): [number, number, number] {
  need(v.shape.length === 3, `${op} needs an image (height×width×channels), got ${dims(v.shape)}`, 'inputs');
  return v.shape as [number, number, number];
}

function sequenceOf(v: Value, op: string): [number, number] {
  need(v.shape.length === 2, `${op} needs a token sequence (tokens×dim), got ${dims(v.shape)}; use patchEmbedding or reshape first`, 'inputs');
  return v.shape as [number, number];
}

function window(h: number, w: number, k: number, stride: number, padding: 'same' | 'valid', dilation: number, what: string): [number, number] {
  const oh = spatial(h, k, stride, padding, dilation);
  const ow = spatial(w, k, stride, padding, dilation);
  need(oh >= 1 && ow >= 1, `a ${k}×${k} ${what} does not fit its ${h}×${w} input`, 'kernel');
  return [oh, ow];
}

/** Adds one node to the spec; returns its value and shape. Throws NodeShapeError. */
function buildNode(b: SpecBuilder, inst: Instance, ins: Value[], numClasses: number): Value {
  const n = inst.node;
  const id = inst.id;
  const x = ins[0]!;
  const op: GraphOpName = n.op;
  const same = (value: string) => ({ value, shape: x.shape });
  switch (op) {
    case 'conv2d': {
      const [h, w, c] = imageOf(x, 'conv2d');
      const k = n.kernel!;
      const stride = n.stride ?? 1;
      const dilation = n.dilation ?? 1;
      const groups = n.groups ?? 1;
      const filters = n.filters ?? c;
      need(stride === 1 || dilation === 1, 'dilation > 1 needs stride 1', 'dilation');
      need(c % groups === 0, `${c} input channels do not split into ${groups} groups`, 'groups');
      need(filters % groups === 0, `${filters} filters do not split into ${groups} groups`, 'groups');
      const [oh, ow] = window(h, w, k, stride, n.padding ?? 'same', dilation, 'kernel');
      return { value: b.conv(x.value, id, c, filters, k, stride, { bias: n.bias ?? true, padding: n.padding ?? 'same', dilation, groups }), shape: [oh, ow, filters] };
    }
    case 'depthwiseConv2d': {
      const [h, w, c] = imageOf(x, 'depthwiseConv2d');
      const stride = n.stride ?? 1;
      const dilation = n.dilation ?? 1;
      need(stride === 1 || dilation === 1, 'dilation > 1 needs stride 1', 'dilation');
      const m = n.multiplier ?? 1;
      const [oh, ow] = window(h, w, n.kernel!, stride, n.padding ?? 'same', dilation, 'kernel');
      return { value: b.depthwise(x.value, id, c, n.kernel!, stride, { bias: n.bias ?? true, padding: n.padding ?? 'same', dilation, multiplier: m }), shape: [oh, ow, c * m] };
    }
    case 'dense': {
      need(x.shape.length <= 2, `dense reads a vector or a token sequence, got ${dims(x.shape)}; flatten or pool the image first`, 'inputs');
      const fanIn = x.shape[x.shape.length - 1]!;
      const units = n.units === 'numClasses' ? numClasses : n.units!;
      return { value: b.dense(x.value, id, units, fanIn, { bias: n.bias ?? true }), shape: [...x.shape.slice(0, -1), units] };
    }
    case 'batchNorm':
      return same(b.batchnorm(x.value, id, x.shape[x.shape.length - 1]!, n.epsilon));
    case 'layerNorm':
      return same(b.layerNorm(x.value, id, x.shape[x.shape.length - 1]!, n.epsilon ?? 1e-5));
    case 'relu':
      return same(b.relu(x.value));
    case 'relu6':
    case 'gelu':
    case 'sigmoid':
    case 'tanh':
    case 'softmax':
      return same(b.activation(x.value, op));
    case 'maxPool':
    case 'avgPool': {
      const [h, w, c] = imageOf(x, op);
      const size = n.size!;
      const stride = n.stride ?? size;
      const padding = n.padding ?? 'valid';
      const oh = spatial(h, size, stride, padding);
      const ow = spatial(w, size, stride, padding);
      need(oh >= 1 && ow >= 1, `a ${size}×${size} pool does not fit its ${h}×${w} input`, 'size');
      return { value: op === 'maxPool' ? b.maxpool(x.value, size, stride, padding) : b.avgpool(x.value, size, stride, padding), shape: [oh, ow, c] };
    }
    case 'globalAvgPool':
    case 'globalMaxPool':
      need(x.shape.length >= 2, `${op} needs an image or a sequence, got ${dims(x.shape)}`, 'inputs');
      return { value: op === 'globalAvgPool' ? b.globalAvgPool(x.value) : b.globalMaxPool(x.value), shape: [x.shape[x.shape.length - 1]!] };
    case 'flatten': {
      const size = x.shape.reduce((a, c) => a * c, 1);
      return { value: b.flatten(x.value), shape: [size] };
    }
    case 'reshape': {
      const target = [...n.shape!];
      const size = x.shape.reduce((a, c) => a * c, 1);
      const wild = target.filter((d) => d === -1).length;
      need(wild <= 1, 'reshape: at most one -1', 'shape');
      need(target.every((d) => d === -1 || d >= 1), 'reshape: dimensions are ≥ 1 (or one -1)', 'shape');
      const known = target.filter((d) => d !== -1).reduce((a, c) => a * c, 1);
      if (wild) {
        need(size % known === 0, `cannot reshape ${dims(x.shape)} (${size} values) to ${dims(target)}`, 'shape');
        target[target.indexOf(-1)] = size / known;
      }
      need(target.reduce((a, c) => a * c, 1) === size, `cannot reshape ${dims(x.shape)} (${size} values) to ${dims(target)}`, 'shape');
      return { value: b.reshape(x.value, target), shape: target };
    }
    case 'dropout':
      return same(b.dropout(x.value, id, n.rate!));
    case 'add': {
      for (const other of ins.slice(1)) need(dims(other.shape) === dims(x.shape), `inputs ${ins.map((v) => dims(v.shape)).join(' and ')} differ`, 'inputs');
      let v = x.value;
      for (const other of ins.slice(1)) v = b.add(v, other.value);
      return same(v);
    }
    case 'concat': {
      const rank = x.shape.length;
      const axis = (n.axis ?? -1) < 0 ? rank + (n.axis ?? -1) : n.axis!;
      need(axis >= 0 && axis < rank, `axis ${n.axis} of a ${rank}-axis input (${dims(x.shape)})`, 'axis');
      for (const other of ins) {
        need(other.shape.length === rank && other.shape.every((d, i) => i === axis || d === x.shape[i]), `inputs ${ins.map((v) => dims(v.shape)).join(' and ')} differ outside axis ${axis}`, 'inputs');
      }
      return { value: b.concat(ins.map((v) => v.value), axis), shape: x.shape.map((d, i) => (i === axis ? ins.reduce((s, v) => s + v.shape[i]!, 0) : d)) };
    }
    case 'embedding':
      return { value: b.embedding(x.value, id, n.vocab!, n.dim!), shape: [...x.shape, n.dim!] };
    case 'attention': {
      const [t, d] = sequenceOf(x, 'attention');
      const heads = n.heads!;
      const keyDim = n.keyDim ?? d / heads;
      need(Number.isInteger(keyDim), `${d}-dim tokens do not split into ${heads} heads; set keyDim`, 'heads');
      return { value: b.attention(x.value, id, d, heads, keyDim, { bias: n.bias ?? true }), shape: [t, d] };
    }
    case 'patchEmbedding': {
      const [h, w, c] = imageOf(x, 'patchEmbedding');
      const p = n.patch!;
      need(h >= p && w >= p, `a ${p}×${p} patch does not fit its ${h}×${w} input`, 'patch');
      const [oh, ow] = [Math.floor(h / p), Math.floor(w / p)];
      const conv = b.conv(x.value, id, c, n.dim!, p, p, { bias: n.bias ?? true, padding: 'valid' });
      return { value: b.reshape(conv, [oh * ow, n.dim!]), shape: [oh * ow, n.dim!] };
    }
    case 'classToken': {
      const [t, d] = sequenceOf(x, 'classToken');
      return { value: b.classToken(x.value, id, d), shape: [t + 1, d] };
    }
    case 'positionEmbedding': {
      const [t, d] = sequenceOf(x, 'positionEmbedding');
      return same(b.positionEmbedding(x.value, id, t, d));
    }
    case 'selectToken': {
      const [t, d] = sequenceOf(x, 'selectToken');
      const index = n.index ?? 0;
      need(index < t, `token ${index} of a ${t}-token sequence`, 'index');
      return { value: b.selectToken(x.value, index), shape: [d] };
    }
    case 'block':
      throw new Error('block nodes are expanded before shapes');
  }
}

/** The candidate closest to a mistyped name (edit distance ≤ max(2, a third of it)), if any. */
export function closestName(name: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const c of candidates) {
    const d = editDistance(name.toLowerCase(), c.toLowerCase());
    if (d < bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  return best !== undefined && bestDistance <= Math.max(2, Math.ceil(name.length / 3)) ? best : undefined;
}

/** The closest candidate as a quick fix. */
function closestFix(name: string, candidates: readonly string[]): { fix?: { title: string; newText: string } } {
  const best = closestName(name, candidates);
  return best === undefined ? {} : { fix: { title: `Change to "${best}"`, newText: JSON.stringify(best) } };
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length]!;
}
