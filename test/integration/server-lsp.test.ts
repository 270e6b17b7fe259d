// The real bundled server over stdio: diagnostics with exact ranges, hover, completion, quick
// fixes, debounce, close, and the sweep lookup against a workspace folder.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type { Diagnostic } from 'vscode-languageserver';
import { fileUri, positionOf, ServerHarness } from './server-harness';

let server: ServerHarness;
let workspace: string;

before(async () => {
  workspace = mkdtempSync(path.join(tmpdir(), 'rpg-lsp-'));
  mkdirSync(path.join(workspace, 'runs', 'sweep-lenet'), { recursive: true });
  writeFileSync(
    path.join(workspace, 'runs', 'sweep-lenet', 'sweep.json'),
    JSON.stringify({ arch: 'lenet5', dataset: 'mnist-embedded', fit: { a: 0.5, b: 0.05, r2: 0.97 }, points: [{ kind: 'rpg', dof: 264, ringSize: 264, bestAcc: 0.8, finalAcc: 0.79 }, { kind: 'rpg', dof: 44190, ringSize: 44190, bestAcc: 0.98, finalAcc: 0.98 }] }),
  );
  mkdirSync(path.join(workspace, 'experiments'));
  server = await ServerHarness.start({ workspaceFolder: workspace });
});

after(async () => {
  await server.stop();
  rmSync(workspace, { recursive: true, force: true });
});

const text = [
  '{',
  '  // LeNet-5 with a 1k ring',
  '  "model": { "arch": "lenet5", "numClasses": 12 },',
  '  "rpg": { "dof": 100000 },',
  '  "data": { "dataset": "mnist", "path": "../no-such-folder" },',
  '  "train": { "optimizer": "adam", "lr": 0.5, "batchSize": 64, },',
  '}',
].join('\n');

function summary(d: Diagnostic): string {
  const r = d.range;
  return `${d.code} ${r.start.line}:${r.start.character}-${r.end.line}:${r.end.character} ${d.message}`;
}

test('publishes diagnostics with exact ranges, codes and messages', async () => {
  const uri = fileUri(path.join(workspace, 'experiments', 'lenet-1k.rpg.json'));
  const diagnostics = await server.open(uri, text);
  assert.deepEqual(diagnostics.map(summary), [
    'rpg-lr-range 5:40-5:43 train.lr 0.5 is unusually high for adam (expected 0.00001 … 0.01)',
    'rpg-dataset-path 4:40-4:59 data.path: folder not found: ' + path.join(workspace, 'no-such-folder'),
    'rpg-dof-too-large 3:18-3:24 rpg.dof: a ring of 100,000 entries is larger than the 44,358 generated parameters of lenet5; 55,642 ring entries would never be used (use at most 44,358, which is the plain model up to permutation and signs)',
  ]);
  assert.deepEqual(diagnostics.map((d) => d.severity), [2, 1, 1]);
  // The link opens the docs shipped next to the bundled server, at the code's heading.
  const href = /^file:\/\/(.+)#L(\d+)$/.exec(diagnostics[2]!.codeDescription?.href ?? '');
  assert.ok(href && href[1]!.endsWith('/docs/config-and-diagnostics.md'), diagnostics[2]!.codeDescription?.href);
  assert.equal(readFileSync(decodeURIComponent(href[1]!), 'utf8').split('\n')[Number(href[2]) - 1], '### rpg-dof-too-large');
  const actions = await server.codeActions(uri, [diagnostics[2]!]);
  assert.deepEqual(actions.map((a) => a.title), [
    'Set DoF to the generated parameter count (44,358)',
    'Set DoF to 1% of parameters (444)',
    'Set DoF to 10% of parameters (4,436)',
    'Set DoF to 18% of parameters (7,984)',
  ]);
  assert.deepEqual(actions[2]!.edit!.changes![uri], [{ range: diagnostics[2]!.range, newText: '"10%"' }]);
  // The server's own timing arrives after each publish (messages are ordered).
  assert.ok(server.statuses.some((s) => s.uri === uri && s.version === 1 && s.state === 'ok' && s.diagnostics === 3 && s.analysisMs >= 0));
  await server.close(uri);
});

test('numClasses mismatch with its quick fix; sweep prediction from the workspace', async () => {
  const uri = fileUri(path.join(workspace, 'experiments', 'classes.rpg.json'));
  const src = '{\n  "model": { "arch": "lenet5", "numClasses": 12 },\n  "rpg": { "dof": "10%" }\n}';
  let diagnostics = await server.open(uri, src);
  // The first workspace scan may finish after the open; it re-publishes when it does.
  if (!diagnostics.some((d) => d.code === 'rpg-sweep-prediction')) diagnostics = (await server.nextDiagnostics(uri)).diagnostics;
  const classes = diagnostics.find((d) => d.code === 'rpg-num-classes')!;
  assert.equal(summary(classes), 'rpg-num-classes 1:45-1:47 model.numClasses is 12 but mnist-embedded has 10 classes');
  const [fix] = await server.codeActions(uri, [classes]);
  assert.equal(fix!.title, 'Fix numClasses to 10 for mnist-embedded');
  assert.deepEqual(fix!.edit!.changes![uri], [{ range: classes.range, newText: '10' }]);

  const sweep = diagnostics.find((d) => d.code === 'rpg-sweep-prediction')!;
  const ring = 4436; // 10% of LeNet-5's generated weights with 12 classes: the fit's x axis
  const expected = ((0.5 + 0.05 * Math.log(ring)) * 100).toFixed(1);
  assert.equal(summary(sweep), `rpg-sweep-prediction 2:18-2:23 The lenet5/mnist-embedded sweep (../runs/sweep-lenet/sweep.json, R² 0.97) predicts ≈ ${expected}% accuracy at ring size 4,436`);
  assert.equal(sweep.severity, 3);
  await server.close(uri);
});

test('hover on arch shows the model summary; completion offers enum values and fields', async () => {
  const uri = fileUri(path.join(workspace, 'experiments', 'hover.rpg.json'));
  const src = '{\n  "model": { "arch": "resnet20" },\n  "data": { "dataset": "cifar10", "path": "x" },\n  "train": { "optimizer": "sgd", }\n}';
  await server.open(uri, src);
  const hover = await server.hover(uri, positionOf(src, '"arch"', 2));
  const value = (hover!.contents as { value: string }).value;
  assert.match(value, /^\*\*model\.arch\*\* — Architecture/);
  assert.match(value, /\*\*resnet20\*\* on 32×32×3 inputs, 10 classes/);
  assert.match(value, /\| Total parameters \| 269,722 \|/);
  assert.deepEqual(hover!.range, { start: { line: 1, character: 13 }, end: { line: 1, character: 19 } });

  const optimizers = await server.completion(uri, positionOf(src, '"sgd"', 1));
  assert.deepEqual(optimizers.map((c) => c.label), ['"sgd"', '"adam"']);
  assert.deepEqual((optimizers[0]!.textEdit as { range: unknown }).range, { start: { line: 3, character: 26 }, end: { line: 3, character: 31 } });

  const fields = await server.completion(uri, positionOf(src, '"sgd", ', 7));
  assert.ok(fields.some((c) => c.label === 'lr' && c.insertTextFormat === 2));
  assert.ok(!fields.some((c) => c.label === 'optimizer'));
  await server.close(uri);
});

test('an empty document gets no diagnostics and whole-config snippets', async () => {
  const uri = fileUri(path.join(workspace, 'experiments', 'new.rpg.json'));
  assert.deepEqual(await server.open(uri, ''), []);
  const items = await server.completion(uri, { line: 0, character: 0 });
  assert.ok(items.length >= 1 && items.every((c) => c.kind === 15 /* Snippet */));
  await server.close(uri);
});

test('edits are debounced: a burst of changes publishes once, for the last version', async () => {
  const debounced = await ServerHarness.start({ initializationOptions: { debounceMs: 120 } });
  try {
    const uri = 'untitled:burst.rpg.json';
    await debounced.open(uri, '{ "model": { "arch": "mlp" } }');
    const before = debounced.published.length;
    const last = debounced.nextDiagnostics(uri, 6);
    for (let v = 2; v <= 6; v++) {
      await debounced.connection.sendNotification('textDocument/didChange', { textDocument: { uri, version: v }, contentChanges: [{ text: `{ "model": { "arch": "mlp", "hidden": [${v}] } }` }] });
    }
    await last;
    await new Promise((r) => setTimeout(r, 200));
    assert.deepEqual(debounced.published.slice(before).map((p) => p.version), [6]);
  } finally {
    await debounced.stop();
  }
});

test('closing a document clears its diagnostics', async () => {
  const uri = fileUri(path.join(workspace, 'experiments', 'closing.rpg.json'));
  assert.equal((await server.open(uri, '{ "model": { "arch": "alexnet" } }')).length, 1);
  const cleared = server.nextDiagnostics(uri);
  await server.close(uri);
  assert.deepEqual((await cleared).diagnostics, []);
});
