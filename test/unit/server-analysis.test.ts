import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { describeDataset } from '../../src/core/data';
import { DatasetError, DatasetInfo } from '../../src/core/data/types';
import { analyze, Analysis, AnalysisEnv } from '../../src/server/analysis';
import type { DiagnosticCodeName, Finding } from '../../src/server/findings';
import { locate } from '../../src/server/json-tree';
import { trainingRangeFindings } from '../../src/server/semantic-diagnostics';
import type { Sweep } from '../../src/server/sweep-index';
import { validate } from '../../src/server/schema-diagnostics';

const MNIST: DatasetInfo = { height: 28, width: 28, channels: 1, numClasses: 10 };
const env = (over: Partial<AnalysisEnv> = {}): AnalysisEnv => ({ baseDir: '/ws', describeDataset: () => MNIST, maxFileBytes: 1 << 20, ...over });
const cfg = (o: Record<string, unknown>): string => JSON.stringify(o, null, 2);

function byCode(a: Analysis, code: DiagnosticCodeName): Finding[] {
  return a.findings.filter((f) => f.code === code);
}
/** The text a finding underlines. */
function underlined(a: Analysis, f: Finding): string {
  const { span } = f.span ? { span: f.span } : locate(a.root, f.path ?? [], f.target ?? 'value');
  return a.text.slice(span.offset, span.offset + span.length);
}
function only(a: Analysis, code: DiagnosticCodeName): Finding {
  const found = byCode(a, code);
  assert.equal(found.length, 1, `${code} in ${JSON.stringify(a.findings.map((f) => f.code))}`);
  return found[0]!;
}

test('a valid LeNet-5 config only gets the DoF information', () => {
  const a = analyze(cfg({ $schema: '../schemas/rpg.schema.json', model: { arch: 'lenet5' }, rpg: { dof: '10%' } }), env());
  assert.deepEqual(a.findings.map((f) => f.code), ['rpg-dof-resolved']);
  const f = only(a, 'rpg-dof-resolved');
  assert.equal(underlined(a, f), '"10%"');
  assert.match(f.message, /rpg\.dof "10%" = a ring of 4,419 entries for 44,190 generated weights/);
});

test('syntax errors are underlined where they are; comments and trailing commas are fine', () => {
  const ok = analyze('{\n  // a comment\n  "model": { "arch": "lenet5", },\n}', env());
  assert.deepEqual(byCode(ok, 'rpg-syntax'), []);
  const bad = analyze('{ "model": { "arch": "lenet5" } "rpg": {} }', env());
  const f = byCode(bad, 'rpg-syntax')[0]!;
  assert.match(f.message, /comma expected/);
  assert.equal(underlined(bad, f), '"rpg"');
});

test('schema errors: unknown field on its key, wrong type and out of range on the value', () => {
  const text = cfg({ model: { arch: 'lenet5', colour: 'red' }, train: { lr: -1, batchSize: 'big' } });
  const a = analyze(text, env());
  const schema = byCode(a, 'rpg-schema');
  assert.deepEqual(schema.map((f) => underlined(a, f)), ['"colour"', '-1', '"big"']);
  assert.match(schema[0]!.message, /^model\.colour: unknown field "colour"/);
  assert.equal(schema[1]!.message, 'train.lr: must be > 0, got -1');
  assert.equal(schema[2]!.message, 'train.batchSize: expected an integer, got the string "big"');
});

test('unknown architecture is a schema error on the value; a missing model on the root brace', () => {
  const a = analyze(cfg({ model: { arch: 'vgg19' } }), env());
  assert.equal(underlined(a, only(a, 'rpg-schema')), '"vgg19"');
  const b = analyze('{ "rpg": {} }', env());
  const f = only(b, 'rpg-schema');
  assert.equal(f.message, 'model: missing required field "model"');
  assert.equal(underlined(b, f), '{');
});

test('a broken train section does not hide the model numbers', () => {
  const v = validate({ model: { arch: 'lenet5' }, train: { lr: 'fast' } });
  assert.ok(v.config);
  assert.ok(!v.validSections.has('train') && v.validSections.has('model'));
  const a = analyze(cfg({ model: { arch: 'lenet5' }, train: { lr: 'fast' } }), env());
  assert.ok(a.resolved);
  assert.deepEqual(byCode(a, 'rpg-lr-range'), []);
});

test('DoF larger than the generated count: error with the count and the quick fixes', () => {
  const a = analyze(cfg({ model: { arch: 'lenet5' }, rpg: { dof: 100000 } }), env());
  const f = only(a, 'rpg-dof-too-large');
  assert.equal(underlined(a, f), '100000');
  assert.match(f.message, /larger than the 44,190 generated parameters of lenet5/);
  assert.deepEqual(f.fixes?.map((x) => x.newText), ['44190', '"1%"', '"10%"', '"18%"']);
  assert.equal(f.fixes?.[0]?.title, 'Set DoF to the generated parameter count (44,190)');
  // Hover still has the model's numbers, from the plan at 100%.
  assert.equal(a.fallback?.summary.generatedParams, 44190);
  assert.ok(only(analyze(cfg({ model: { arch: 'lenet5' }, rpg: { dof: '150%' } }), env()), 'rpg-dof-too-large'));
});

test('DoF as an integer or a percentage resolves to the same plan', () => {
  const pct = analyze(cfg({ model: { arch: 'lenet5' }, rpg: { dof: '1%' } }), env());
  const int = analyze(cfg({ model: { arch: 'lenet5' }, rpg: { dof: 442 } }), env());
  assert.equal(pct.resolved?.summary.ringSize, 442);
  assert.equal(int.resolved?.summary.ringSize, 442);
  assert.match(only(int, 'rpg-dof-resolved').message, /rpg\.dof 442 = a ring of 442 entries/);
  assert.equal(only(analyze(cfg({ model: { arch: 'lenet5' }, rpg: { dof: '0%' } }), env()), 'rpg-dof-invalid').message, 'rpg.dof: "0%" is not a positive percentage');
});

test('a tiny ring warns with the reuse factor and the starved layers', () => {
  const a = analyze(cfg({ model: { arch: 'lenet5' }, rpg: { dof: 100 } }), env());
  const f = only(a, 'rpg-dof-reuse');
  assert.equal(underlined(a, f), '100');
  assert.match(f.message, /reuse factor 442× is very high/);
  assert.match(f.message, /layers? read fewer distinct ring entries than their fan-in\/fan-out \(conv1: 100 entries < fan-out 150/);
  assert.deepEqual(f.fixes?.map((x) => x.newText), ['"1%"', '"10%"', '"18%"']);
  // The configurable floor alone also triggers it.
  const floor = analyze(cfg({ model: { arch: 'lenet5' }, rpg: { dof: '1%', minReuseWarning: 50 } }), env());
  assert.match(only(floor, 'rpg-dof-reuse').message, /each ring entry feeds 100× weights on average \(N\/M = 44,190\/442, above rpg\.minReuseWarning 50\)/);
  assert.deepEqual(byCode(analyze(cfg({ model: { arch: 'lenet5' }, rpg: { dof: '1%' } }), env()), 'rpg-dof-reuse'), []);
});

test('numClasses that does not match the dataset is an error with a fix', () => {
  const a = analyze(cfg({ model: { arch: 'lenet5', numClasses: 100 } }), env());
  const f = only(a, 'rpg-num-classes');
  assert.equal(underlined(a, f), '100');
  assert.equal(f.message, 'model.numClasses is 100 but mnist-embedded has 10 classes');
  assert.deepEqual(f.fixes, [{ title: 'Fix numClasses to 10 for mnist-embedded', newText: '10' }]);
});

test('impossible shapes are an error on the architecture', () => {
  const tiny = (): DatasetInfo => ({ height: 8, width: 8, channels: 3, numClasses: 4 });
  const a = analyze(cfg({ model: { arch: 'lenet5' }, data: { dataset: 'image-folder', path: 'imgs', imageSize: 8 } }), env({ describeDataset: tiny }));
  const f = only(a, 'rpg-shape');
  assert.equal(underlined(a, f), '"lenet5"');
  assert.match(f.message, /^lenet5 cannot run on 8×8×3 inputs: conv2: a 5×5 kernel does not fit its 2×2 input/);
});

test('dataset path that does not exist, or wrong format, is an error on data.path (real describeDataset)', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'rpg-ds-'));
  try {
    const real = env({ baseDir: dir, describeDataset });
    const missing = analyze(cfg({ model: { arch: 'resnet20' }, data: { dataset: 'cifar10', path: 'nowhere' } }), real);
    const f = only(missing, 'rpg-dataset-path');
    assert.equal(underlined(missing, f), '"nowhere"');
    assert.match(f.message, /folder not found/);
    // The plan still resolves at the dataset's nominal size, so hover keeps working.
    assert.equal(missing.resolved?.spec.inputShape.join('x'), '32x32x3');
    const noPath = analyze(cfg({ model: { arch: 'resnet20' }, data: { dataset: 'cifar10' } }), real);
    assert.equal(underlined(noPath, only(noPath, 'rpg-dataset-path')), '"cifar10"');
    const empty = analyze(cfg({ model: { arch: 'resnet20' }, data: { dataset: 'cifar10', path: '.' } }), real);
    assert.equal(byCode(empty, 'rpg-dataset-path').length + byCode(empty, 'rpg-dataset-format').length, 1);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const malformed = (): DatasetInfo => {
    throw new DatasetError('/ws/data/train-images-idx3-ubyte', 'bad magic number 1234');
  };
  const bad = analyze(cfg({ model: { arch: 'lenet5' }, data: { dataset: 'mnist', path: 'data' } }), env({ describeDataset: malformed }));
  assert.equal(only(bad, 'rpg-dataset-format').message, 'data.path: bad magic number 1234: /ws/data/train-images-idx3-ubyte');
});

test('learning rate, batch size and epochs outside sane ranges warn (per optimizer)', () => {
  const base = { optimizer: 'adam', lr: 0.001, momentum: 0.9, weightDecay: 0, schedule: 'constant', batchSize: 64, epochs: 10, checkpointMinutes: 2, engine: 'tfjs', backend: 'auto', precision: 'fp32' } as const;
  assert.deepEqual(trainingRangeFindings(base), []);
  assert.equal(trainingRangeFindings({ ...base, lr: 0.1 })[0]!.message, 'train.lr 0.1 is unusually high for adam (expected 0.00001 … 0.01)');
  assert.deepEqual(trainingRangeFindings({ ...base, optimizer: 'sgd', lr: 0.1 }), []);
  assert.equal(trainingRangeFindings({ ...base, optimizer: 'sgd', lr: 0.00001 })[0]!.code, 'rpg-lr-range');
  assert.equal(trainingRangeFindings({ ...base, batchSize: 4 })[0]!.code, 'rpg-batch-range');
  assert.equal(trainingRangeFindings({ ...base, batchSize: 8192 })[0]!.message, 'train.batchSize 8,192 is unusually large (expected 8 … 4096)');
  assert.equal(trainingRangeFindings({ ...base, epochs: 5000 })[0]!.code, 'rpg-epochs-range');
  const a = analyze(cfg({ model: { arch: 'lenet5' }, train: { optimizer: 'sgd', lr: 5 } }), env());
  assert.equal(underlined(a, only(a, 'rpg-lr-range')), '5');
});

test('a finished sweep for the same arch and dataset predicts the accuracy at this ring size', () => {
  const sweep: Sweep = {
    file: '/ws/runs/sweep-lenet/sweep.json', arch: 'lenet5', dataset: 'mnist-embedded', mtimeMs: 1,
    fit: { a: 0.5, b: 0.05, r2: 0.98 }, points: [{ dof: 500, bestAcc: 0.81 }, { dof: 40000, bestAcc: 0.97 }],
  };
  const sweeps = { find: (arch: string, dataset: string) => (arch === 'lenet5' && dataset === 'mnist-embedded' ? sweep : undefined) };
  const a = analyze(cfg({ model: { arch: 'lenet5' }, rpg: { dof: '10%' } }), env({ sweeps }));
  const f = only(a, 'rpg-sweep-prediction');
  const ring = a.resolved!.summary.ringSize;
  assert.equal(ring, 4419);
  const expected = (0.5 + 0.05 * Math.log(ring)) * 100;
  assert.equal(f.message, `The lenet5/mnist-embedded sweep (runs/sweep-lenet/sweep.json, R² 0.98) predicts ≈ ${expected.toFixed(1)}% accuracy at ring size 4,419`);
  assert.equal(underlined(a, f), '"10%"');
  const other = analyze(cfg({ model: { arch: 'resnet20' } }), env({ sweeps }));
  assert.deepEqual(byCode(other, 'rpg-sweep-prediction'), []);
});

test('robustness: empty, garbage, deep, huge numbers, NaN strings, oversized files never throw', () => {
  const e = env();
  assert.deepEqual(analyze('', e).findings, []);
  assert.ok(analyze('\u0000\u0001\uFFFD\x7f binary ÿþ', e).findings.some((f) => f.code === 'rpg-syntax'));
  assert.equal(analyze('['.repeat(100_000), e).findings[0]?.code, 'rpg-syntax');
  assert.equal(analyze('{"a":'.repeat(50_000), e).skipped, 'too-deep');
  const huge = analyze(cfg({ model: { arch: 'resnet34', width: 16, hidden: [65536] }, rpg: { dof: 1e300 } }), e);
  assert.ok(byCode(huge, 'rpg-dof-too-large').length === 1);
  assert.ok(analyze('{"model":{"arch":"mlp","hidden":[1e999]},"rpg":{"dof":"NaN"},"train":{"lr":"NaN"}}', e).findings.every((f) => f.code === 'rpg-schema'));
  const big = 'x'.repeat(100 * 1024 * 1024);
  const skipped = analyze(big, e);
  assert.equal(skipped.skipped, 'too-large');
  assert.equal(only(skipped, 'rpg-too-large').severity, 'information');
});
