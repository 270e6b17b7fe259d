// The language server on graph and import configs: each problem at its JSON path with its code
// (unknown ids with a quick fix, cycles, shape mismatches naming the node, unreachable nodes,
// unsupported import classes, rpg.free entries), completion of node ids, blocks and free kinds,
// and hover with a node's output shape and parameters.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { TextDocument } from 'vscode-languageserver-textdocument';
import { analyze, Analysis, AnalysisEnv } from '../../src/server/analysis';
import { completeAt } from '../../src/server/completion';
import { hoverAt } from '../../src/server/hover';
import { locate } from '../../src/server/json-tree';
import { toCodeActions, toDiagnostics } from '../../src/server/lsp';
import type { Finding } from '../../src/server/findings';

const MNIST = { height: 28, width: 28, channels: 1, numClasses: 10 };
const env = (baseDir = '/ws'): AnalysisEnv => ({ baseDir, describeDataset: () => MNIST, maxFileBytes: 1 << 20 });
const cfg = (o: Record<string, unknown>): string => JSON.stringify(o, null, 2);
const underlined = (a: Analysis, f: Finding): string => {
  const { span } = locate(a.root, f.path ?? [], f.target ?? 'value');
  return a.text.slice(span.offset, span.offset + span.length);
};
/** The graph, import and rpg.free findings (tiny test graphs also get DoF reuse warnings). */
const problems = (a: Analysis) => a.findings.filter((f) => /^rpg-(graph|import|free|schema|shape|plan)/.test(f.code));

const node = (id: string, op: string, extra: Record<string, unknown> = {}) => ({ id, op, ...extra });
const HEAD = [node('pool', 'globalAvgPool'), node('head', 'dense', { units: 'numClasses' })];

test('a valid graph gets only the DoF information', () => {
  const a = analyze(cfg({ model: { graph: { nodes: [node('conv', 'conv2d', { filters: 8, kernel: 3 }), ...HEAD] } } }), env());
  assert.deepEqual(problems(a), []);
  assert.ok(a.resolved);
});

test('an unknown input id: an error on it, with the closest id as a quick fix that makes the graph valid', () => {
  const text = cfg({ model: { graph: { nodes: [node('conv1', 'conv2d', { filters: 8, kernel: 3 }), node('pool', 'globalAvgPool', { inputs: ['cnov1'] }), node('head', 'dense', { units: 10 })] } } });
  const a = analyze(text, env());
  const [f] = problems(a);
  assert.equal(f!.code, 'rpg-graph-unknown-input');
  assert.equal(underlined(a, f!), '"cnov1"');
  const doc = TextDocument.create('file:///ws/g.rpg.json', 'rpg-config', 1, text);
  const actions = toCodeActions(doc.uri, toDiagnostics(a, doc));
  assert.deepEqual(actions.map((x) => x.title), ['Change to "conv1"']);
  const fixed = TextDocument.applyEdits(doc, [actions[0]!.edit!.changes![doc.uri]![0]!]);
  assert.deepEqual(problems(analyze(fixed, env())), []);
});

test('a cycle, a shape mismatch naming the node, and an unreachable node, each where it is', () => {
  const cyc = analyze(cfg({ model: { graph: { nodes: [node('a', 'relu', { inputs: ['b'] }), node('b', 'relu', { inputs: ['a'] }), node('f', 'flatten', { inputs: ['b'] }), node('head', 'dense', { units: 10 })] } } }), env());
  const [c] = problems(cyc);
  assert.equal(c!.code, 'rpg-graph-cycle');
  assert.match(c!.message, /cycle/);
  assert.match(underlined(cyc, c!), /^\[\s*"[ab]"\s*\]$/);

  const mismatch = analyze(cfg({ model: { graph: {
    blocks: { res: { nodes: [node('conv', 'conv2d', { filters: 64, kernel: 3 }), node('add', 'add', { inputs: ['conv', 'input'] })] } },
    nodes: [node('stem', 'conv2d', { filters: 32, kernel: 3, stride: 2 }), node('block2', 'block', { block: 'res' }), ...HEAD],
  } } }), env());
  const [m] = problems(mismatch);
  assert.equal(m!.code, 'rpg-graph-shape');
  assert.equal(m!.message, 'node `block2.add`: inputs 14×14×64 and 14×14×32 differ');
  assert.match(underlined(mismatch, m!), /^\[\s*"conv",\s*"input"\s*\]$/);

  const dead = analyze(cfg({ model: { graph: { nodes: [node('side', 'conv2d', { filters: 4, kernel: 3 }), node('f', 'flatten', { inputs: ['input'] }), node('head', 'dense', { units: 10 })] } } }), env());
  const [d] = problems(dead);
  assert.deepEqual([d!.code, d!.severity, underlined(dead, d!)], ['rpg-graph-unreachable', 'warning', '"side"']);
  assert.ok(dead.resolved, 'the model still plans');
});

test('a node attribute its op does not take is underlined on its key; a wrong head width gets a numClasses fix', () => {
  const a = analyze(cfg({ model: { graph: { nodes: [node('f', 'flatten'), node('head', 'dense', { units: 10, filters: 3 })] } } }), env());
  const [f] = problems(a);
  assert.deepEqual([f!.code, underlined(a, f!)], ['rpg-graph', '"filters"']);
  const w = analyze(cfg({ model: { graph: { nodes: [node('f', 'flatten'), node('head', 'dense', { units: 7 })] } } }), env());
  const [g] = problems(w);
  assert.equal(underlined(w, g!), '7');
  assert.equal(g!.fixes?.[0]?.newText, '"numClasses"');
});

test('an import with unsupported classes: one diagnostic per layer on model.import, naming layer, class and file', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'rpg-srv-import-'));
  mkdirSync(path.join(dir, 'k'));
  writeFileSync(path.join(dir, 'k', 'model.json'), JSON.stringify({ modelTopology: { class_name: 'Sequential', config: { name: 's', layers: [
    { class_name: 'Conv2D', config: { name: 'c', filters: 4, kernel_size: [3, 3], batch_input_shape: [null, 28, 28, 1] } },
    { class_name: 'Lambda', config: { name: 'custom' } },
    { class_name: 'Flatten', config: { name: 'f' } },
    { class_name: 'Dense', config: { name: 'd', units: 10 } },
  ] } } }));
  const a = analyze(cfg({ model: { import: 'k/model.json' } }), env(dir));
  const [f, ...rest] = problems(a);
  assert.deepEqual(rest, []);
  assert.equal(f!.code, 'rpg-import-unsupported');
  assert.equal(underlined(a, f!), '"k/model.json"');
  assert.match(f!.message, /k\/model\.json: layer `custom` \(Lambda\) is not supported/);
  const missing = analyze(cfg({ model: { import: 'nope/model.json' } }), env(dir));
  assert.equal(problems(missing)[0]!.code, 'rpg-import');
  assert.match(problems(missing)[0]!.message, /cannot read .*nope\/model\.json \(ENOENT\)/);
});

test('rpg.free: an unknown entry is an error on it; kinds and node ids are fine', () => {
  const graph = { nodes: [node('stem', 'conv2d', { filters: 8, kernel: 3 }), ...HEAD] };
  const ok = analyze(cfg({ model: { graph: { nodes: [node('stem', 'conv2d', { filters: 8, kernel: 3 }), node('mid', 'conv2d', { kernel: 3 }), ...HEAD] } }, rpg: { free: ['stem', 'dense'] } }), env());
  assert.deepEqual(problems(ok), []);
  const bad = analyze(cfg({ model: { graph }, rpg: { free: ['stem', 'stme'] } }), env());
  const [f] = problems(bad);
  assert.deepEqual([f!.code, underlined(bad, f!)], ['rpg-free-unknown', '"stme"']);
  assert.deepEqual(f!.fixes, [{ title: 'Change to "stem"', newText: '"stem"' }]);
});

test('completion: a node\'s inputs offer "input" and the other ids of its list; block names; rpg.free kinds and layers', async () => {
  const mark = (o: Record<string, unknown>, target: string) => {
    const text = cfg(o);
    return { text: text.replace(`"${target}"`, '""'), offset: text.indexOf(`"${target}"`) + 1 };
  };
  const graph = {
    blocks: { residual: { nodes: [node('c1', 'conv2d', { kernel: 3 }), node('sum', 'add', { inputs: ['c1', 'HERE2'] })] } },
    nodes: [node('stem', 'conv2d', { filters: 8, kernel: 3 }), node('stage', 'block', { block: 'HERE3' }), node('pool', 'globalAvgPool', { inputs: ['HERE'] }), node('head', 'dense', { units: 10 })],
  };
  const top = mark({ model: { graph } }, 'HERE');
  const labels = (await completeAt(analyze(top.text, env()), top.offset)).map((c) => c.label);
  assert.deepEqual(labels.slice(0, 4), ['"input"', '"stem"', '"stage"', '"head"']);
  assert.equal(labels.filter((l) => l === '"input"').length, 1);
  const inBlock = mark({ model: { graph } }, 'HERE2');
  assert.deepEqual((await completeAt(analyze(inBlock.text, env()), inBlock.offset)).map((c) => c.label).slice(0, 2), ['"input"', '"c1"']);
  const block = mark({ model: { graph } }, 'HERE3');
  assert.deepEqual((await completeAt(analyze(block.text, env()), block.offset)).map((c) => c.label), ['"residual"']);
  const free = mark({ model: { arch: 'lenet5' }, rpg: { free: ['HERE'] } }, 'HERE');
  const freeLabels = (await completeAt(analyze(free.text, env()), free.offset)).map((c) => c.label);
  for (const l of ['"conv"', '"attention"', '"stem"', '"head"', '"fc1"']) assert.ok(freeLabels.includes(l), `${l} in ${freeLabels.join(' ')}`);
});

test('hover on a graph node: its op, output shape per repeat and its parameters with their source', () => {
  const graph = {
    blocks: { res: { nodes: [node('conv', 'conv2d', { kernel: 3, bias: false }), node('add', 'add', { inputs: ['conv', 'input'] })] } },
    nodes: [node('stem', 'conv2d', { filters: 8, kernel: 3, stride: 2 }), node('stage', 'block', { block: 'res', repeat: 2 }), ...HEAD],
  };
  const text = cfg({ model: { graph }, rpg: { free: ['stem'] } });
  const a = analyze(text, env());
  const onStem = hoverAt(a, text.indexOf('"stem"') + 2)!;
  assert.match(onStem.markdown, /\*\*conv2d\*\* — Convolution/);
  assert.match(onStem.markdown, /`stem` → 14×14×8/);
  assert.match(onStem.markdown, /\| stem\.kernel \| 3×3×1×8 \| 72 \| free \(stem\) \|/);
  const onConv = hoverAt(a, text.indexOf('"conv"') + 2)!;
  assert.match(onConv.markdown, /`stage\.0\.conv` → 14×14×8\n- `stage\.1\.conv` → 14×14×8/);
  assert.match(onConv.markdown, /\| stage\.0\.conv\.kernel \| 3×3×8×8 \| 576 \| ring \|/);
  assert.match(onConv.markdown, /Each of the 2 repeats has its own parameters/);
});
