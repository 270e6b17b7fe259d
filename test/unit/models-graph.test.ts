// model.graph: compiling nodes and blocks into a ModelSpec, the issues a broken graph gets (at
// their JSON paths, one per problem), and rpg.free by kind and node id.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { parse as parseJsonc } from 'jsonc-parser';
import { buildModelSpec } from '../../src/core/models/architectures';
import { compileGraph, GraphError } from '../../src/core/models/graph';
import { paramCount } from '../../src/core/models/spec';
import { inferShapes } from '../../src/core/models/shapes';
import { buildPlan, PlanError } from '../../src/core/rpg/plan';
import { validateConfig } from '../../src/core/config/load';
import type { GraphConfig } from '../../src/core/config/graph-schema';
import type { ModelConfig, RpgSettings } from '../../src/core/config/schema';

const mnist = { height: 28, width: 28, channels: 1, numClasses: 10 };
const base = { hidden: [256], width: 1, smallInput: false, batchNorm: true };
const graphModel = (graph: unknown): ModelConfig => validateConfig({ model: { graph } }).model;
const rpg = (extra: Partial<RpgSettings> = {}): RpgSettings => ({ enabled: true, dof: '10%', sampling: 'ring', freeFirst: false, freeLast: false, ringInitStd: Math.sqrt(2 / 4608), lrNormalization: 'projected', minReuseWarning: 1000, generate: 'kernels', method: 'ring', ...extra });
const compile = (graph: unknown, input = mnist) => compileGraph(graphModel(graph).graph as GraphConfig, input, { arch: 'graph', basePath: ['model', 'graph'] });

const LENET_GRAPH = {
  nodes: [
    { id: 'conv1', op: 'conv2d', filters: 6, kernel: 5, padding: 'valid' },
    { id: 'relu1', op: 'relu' },
    { id: 'pool1', op: 'maxPool', size: 2 },
    { id: 'conv2', op: 'conv2d', filters: 16, kernel: 5, padding: 'valid' },
    { id: 'relu2', op: 'relu' },
    { id: 'pool2', op: 'maxPool', size: 2 },
    { id: 'flat', op: 'flatten' },
    { id: 'fc1', op: 'dense', units: 120 },
    { id: 'relu3', op: 'relu' },
    { id: 'fc2', op: 'dense', units: 84 },
    { id: 'relu4', op: 'relu' },
    { id: 'fc3', op: 'dense', units: 'numClasses' },
  ],
};

test('LeNet-5 declared as a graph is the built-in: same parameters, same plan hash', () => {
  const graph = buildModelSpec(graphModel(LENET_GRAPH), mnist);
  const builtIn = buildModelSpec({ arch: 'lenet5', ...base, batchNorm: false }, mnist);
  assert.equal(paramCount(graph), 44_426);
  assert.deepEqual(graph.params.map((p) => [p.name, p.shape, p.kind, p.position]), builtIn.params.map((p) => [p.name, p.shape, p.kind, p.position]));
  assert.equal(buildPlan(graph, rpg(), 1).hash, buildPlan(builtIn, rpg(), 1).hash);
});

test('blocks: declared once, every repeat with its own parameters; nodes may come in any order', () => {
  const graph = {
    blocks: { res: { nodes: [
      { id: 'add', op: 'add', inputs: ['conv2', 'input'] },
      { id: 'conv1', op: 'conv2d', kernel: 3, bias: false, inputs: ['input'] },
      { id: 'relu', op: 'relu', inputs: ['conv1'] },
      { id: 'conv2', op: 'conv2d', kernel: 3, bias: false, inputs: ['relu'] },
    ], output: 'add' } },
    nodes: [
      { id: 'head', op: 'dense', units: 10, inputs: ['pool'] },
      { id: 'stem', op: 'conv2d', filters: 8, kernel: 3, inputs: ['input'] },
      { id: 'stage', op: 'block', block: 'res', repeat: 3, inputs: ['stem'] },
      { id: 'one', op: 'block', block: 'res', inputs: ['stage'] },
      { id: 'pool', op: 'globalAvgPool', inputs: ['one'] },
    ],
    output: 'head',
  };
  const r = compile(graph);
  assert.deepEqual(r.issues, []);
  const kernels = r.spec!.params.filter((p) => p.kind === 'conv').map((p) => p.name);
  assert.deepEqual(kernels, ['stem.kernel', 'stage.0.conv1.kernel', 'stage.0.conv2.kernel', 'stage.1.conv1.kernel', 'stage.1.conv2.kernel', 'stage.2.conv1.kernel', 'stage.2.conv2.kernel', 'one.conv1.kernel', 'one.conv2.kernel']);
  assert.equal(paramCount(r.spec!), 3 * 3 * 8 + 8 + 4 * (2 * 9 * 8 * 8) + 8 * 10 + 10);
  assert.deepEqual(inferShapes(r.spec!).get(r.spec!.output), [10]);
});

test('a shape mismatch is one error naming the node, at its inputs', () => {
  const graph = {
    blocks: { res: { nodes: [{ id: 'conv', op: 'conv2d', filters: 64, kernel: 3 }, { id: 'add', op: 'add', inputs: ['conv', 'input'] }] } },
    nodes: [
      { id: 'stem', op: 'conv2d', filters: 32, kernel: 3, stride: 2 },
      { id: 'block2', op: 'block', block: 'res' },
      { id: 'pool', op: 'globalAvgPool' },
      { id: 'head', op: 'dense', units: 10 },
    ],
  };
  const r = compile(graph);
  assert.equal(r.spec, undefined);
  assert.equal(r.issues.length, 1);
  assert.equal(r.issues[0]!.message, 'node `block2.add`: inputs 14×14×64 and 14×14×32 differ');
  assert.deepEqual(r.issues[0]!.path, ['model', 'graph', 'blocks', 'res', 'nodes', 1, 'inputs']);
  assert.throws(() => buildModelSpec(graphModel(graph), mnist), (e: unknown) => e instanceof GraphError && e.message === 'node `block2.add`: inputs 14×14×64 and 14×14×32 differ');
});

test('unknown ids get the closest id as a fix; unknown blocks too', () => {
  const r = compile({ nodes: [{ id: 'conv1', op: 'conv2d', filters: 4, kernel: 3 }, { id: 'pool', op: 'globalAvgPool', inputs: ['cnov1'] }, { id: 'head', op: 'dense', units: 10 }] });
  assert.equal(r.issues.length, 1);
  assert.equal(r.issues[0]!.code, 'graph-unknown-input');
  assert.deepEqual(r.issues[0]!.path, ['model', 'graph', 'nodes', 1, 'inputs', 0]);
  assert.match(r.issues[0]!.message, /node `pool`: input "cnov1" is not a node of this graph/);
  assert.deepEqual(r.issues[0]!.fix, { title: 'Change to "conv1"', newText: '"conv1"' });
  const b = compile({ blocks: { residual: { nodes: [{ id: 'r', op: 'relu' }] } }, nodes: [{ id: 'x', op: 'block', block: 'residul' }, { id: 'f', op: 'flatten' }, { id: 'head', op: 'dense', units: 10 }] });
  assert.equal(b.issues[0]!.code, 'graph-unknown-block');
  assert.deepEqual(b.issues[0]!.fix?.newText, '"residual"');
});

test('a cycle is an error naming its nodes; a node no path reaches is a warning and left out', () => {
  const cyc = compile({ nodes: [{ id: 'a', op: 'relu', inputs: ['c'] }, { id: 'b', op: 'relu', inputs: ['a'] }, { id: 'c', op: 'add', inputs: ['b', 'input'] }, { id: 'f', op: 'flatten', inputs: ['c'] }, { id: 'head', op: 'dense', units: 10 }] });
  assert.equal(cyc.issues.length, 1);
  assert.equal(cyc.issues[0]!.code, 'graph-cycle');
  assert.match(cyc.issues[0]!.message, /cycle \(`a` → `b` → `c` → `a`\)|cycle \(`c` → `a` → `b` → `c`\)|cycle \(`b` → `c` → `a` → `b`\)/);
  const dead = compile({ nodes: [{ id: 'side', op: 'conv2d', filters: 3, kernel: 3 }, { id: 'f', op: 'flatten', inputs: ['input'] }, { id: 'head', op: 'dense', units: 10 }] });
  assert.ok(dead.spec);
  assert.deepEqual(dead.issues.map((i) => [i.severity, i.code, i.path.join('.')]), [['warning', 'graph-unreachable', 'model.graph.nodes.0.id']]);
  assert.ok(!dead.spec.params.some((p) => p.layer === 'side'));
});

test('attributes: one an op does not take is an error at its key; a missing one names what is needed', () => {
  const r = compile({ nodes: [{ id: 'f', op: 'flatten' }, { id: 'head', op: 'dense', units: 10, kernel: 3 }] });
  assert.deepEqual(r.issues.map((i) => i.path.join('.')), ['model.graph.nodes.1.kernel']);
  assert.match(r.issues[0]!.message, /dense has no attribute "kernel" \(it takes units, bias\)/);
  const m = compile({ nodes: [{ id: 'p', op: 'maxPool' }, { id: 'f', op: 'flatten' }, { id: 'head', op: 'dense', units: 10 }] });
  assert.match(m.issues[0]!.message, /maxPool needs "size"/);
  const add = compile({ nodes: [{ id: 'a', op: 'add' }, { id: 'f', op: 'flatten' }, { id: 'head', op: 'dense', units: 10 }] });
  assert.match(add.issues[0]!.message, /add needs two or more inputs/);
});

test('the output must be numClasses logits: a wrong width is an error with a "numClasses" fix; a final softmax is left to the loss', () => {
  const wrong = compile({ nodes: [{ id: 'f', op: 'flatten' }, { id: 'head', op: 'dense', units: 7 }] });
  assert.match(wrong.issues[0]!.message, /gives 7 outputs, the dataset has 10 classes/);
  assert.deepEqual(wrong.issues[0]!.path, ['model', 'graph', 'nodes', 1, 'units']);
  assert.equal(wrong.issues[0]!.fix?.newText, '"numClasses"');
  const image = compile({ nodes: [{ id: 'c', op: 'conv2d', filters: 10, kernel: 3 }] });
  assert.match(image.issues[0]!.message, /shaped 28×28×10: the logits must be a vector/);
  const soft = compile({ nodes: [{ id: 'f', op: 'flatten' }, { id: 'head', op: 'dense', units: 10 }, { id: 'probs', op: 'softmax' }] });
  assert.ok(soft.spec);
  assert.equal(soft.spec.ops[soft.spec.ops.length - 1]!.op, 'dense');
  assert.match(soft.notes[0]!, /softmax.*left out/);
});

test('every op builds: transformer ops, depthwise, grouped/dilated convs, pools, reshape, concat, embedding, dropout', () => {
  const r = compile({
    nodes: [
      { id: 'dw', op: 'depthwiseConv2d', kernel: 3, multiplier: 2 },
      { id: 'g', op: 'conv2d', filters: 4, kernel: 3, groups: 2, dilation: 2 },
      { id: 'bn', op: 'batchNorm' },
      { id: 'r6', op: 'relu6' },
      { id: 'ap', op: 'avgPool', size: 2 },
      { id: 'mp', op: 'maxPool', size: 2, stride: 1, padding: 'same' },
      { id: 'cat', op: 'concat', inputs: ['ap', 'mp'] },
      { id: 'patch', op: 'patchEmbedding', patch: 2, dim: 8 },
      { id: 'cls', op: 'classToken' },
      { id: 'pos', op: 'positionEmbedding' },
      { id: 'ln', op: 'layerNorm' },
      { id: 'attn', op: 'attention', heads: 2 },
      { id: 'mlp', op: 'dense', units: 16 },
      { id: 'act', op: 'gelu' },
      { id: 'drop', op: 'dropout', rate: 0.1 },
      { id: 'back', op: 'dense', units: 8 },
      { id: 'tok', op: 'selectToken' },
      { id: 'sig', op: 'sigmoid' },
      { id: 'resh', op: 'reshape', shape: [2, -1] },
      { id: 'emb', op: 'embedding', vocab: 5, dim: 3 },
      { id: 'th', op: 'tanh' },
      { id: 'gap', op: 'globalMaxPool' },
      { id: 'head', op: 'dense', units: 'numClasses' },
    ],
  });
  assert.deepEqual(r.issues, []);
  const shapes = inferShapes(r.spec!);
  const kinds = new Set(r.spec!.params.map((p) => p.kind));
  for (const k of ['depthwise', 'conv', 'attention', 'dense', 'embedding', 'token', 'position', 'ln-gamma', 'bn-gamma']) assert.ok(kinds.has(k as never), k);
  assert.deepEqual(shapes.get(r.spec!.output), [10]);
  // 28×28×1 → dw ×2 → 28×28×2 → groups → 28×28×4 → pool 14×14×4 → concat 14×14×8 → 49 patches + cls.
  const patchConv = r.spec!.params.find((p) => p.name === 'patch.kernel')!;
  assert.deepEqual(patchConv.shape, [2, 2, 8, 8]);
  assert.deepEqual(r.spec!.params.find((p) => p.name === 'pos.embeddings')!.shape, [50, 8]);
});

test('rpg.free keeps kernels free by kind, node id (a block id frees its repeats), "stem" and "head"; anything else is an error', () => {
  const file = path.join(__dirname, '..', '..', 'examples', 'residual-cnn-graph-fashion-mnist.rpg.json');
  const config = validateConfig(parseJsonc(readFileSync(file, 'utf8')));
  const spec = buildModelSpec(config.model, mnist);
  const layersOf = (free: string[]) => new Set(buildPlan(spec, rpg({ free }), 1).free.filter((p) => p.kind === 'conv' || p.kind === 'dense').map((p) => p.layer));
  assert.deepEqual([...layersOf(['stem', 'head'])], ['stem', 'head']);
  assert.deepEqual([...layersOf(['dense'])], ['head']);
  assert.deepEqual([...layersOf(['stage2'])], ['stage2.0.conv1', 'stage2.0.conv2', 'stage2.1.conv1', 'stage2.1.conv2']);
  assert.deepEqual([...layersOf(['stage1.1.conv2'])], ['stage1.1.conv2']);
  const plan = buildPlan(spec, rpg({ free: ['stem'] }), 1);
  assert.equal(plan.freeReasons['stem.kernel'], 'stem');
  assert.equal(plan.freeReasons['head.bias'], 'bias');
  assert.throws(() => buildPlan(spec, rpg({ free: ['stem', 'stage9'] }), 1), (e: unknown) => e instanceof PlanError && e.field === 'rpg.free.1' && /"stage9" is neither a kind/.test(e.message));
});

test('the config schema: exactly one of arch, graph and import; node fields validated with their paths', () => {
  assert.throws(() => validateConfig({ model: {} }), /model: give one of arch/);
  assert.throws(() => validateConfig({ model: { arch: 'lenet5', graph: { nodes: [{ id: 'a', op: 'relu' }] } } }), /model\.graph: give only one of arch, graph and import/);
  assert.throws(() => validateConfig({ model: { graph: { nodes: [{ id: 'a.b', op: 'relu' }] } } }), /model\.graph\.nodes\.0\.id: a node id is letters/);
  assert.throws(() => validateConfig({ model: { graph: { nodes: [{ id: 'a', op: 'convolution' }] } } }), /model\.graph\.nodes\.0\.op: expected one of "conv2d"/);
});
