import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildModelSpec } from '../../src/core/models/architectures';
import { paramCount } from '../../src/core/models/spec';
import { inferShapes, ShapeError } from '../../src/core/models/shapes';
import type { ModelConfig } from '../../src/core/config/schema';

const model = (arch: ModelConfig['arch'], extra: Partial<ModelConfig> = {}): ModelConfig => ({ arch, hidden: [256], width: 1, smallInput: false, batchNorm: true, ...extra });
const cifar = { height: 32, width: 32, channels: 3, numClasses: 10 };
const imagenet = { height: 224, width: 224, channels: 3, numClasses: 1000 };

// Published totals: He et al. 2016 CIFAR ResNets with option-A shortcuts (0.27M/0.46M/0.85M);
// torchvision resnet18/resnet34, vgg11_bn/vgg16_bn and mobilenet_v2 (as torchvision 0.14 counts
// them); LeNet-5 on 28×28 MNIST (conv 6@5×5, conv 16@5×5, 256-120-84-10).
const PUBLISHED: [ModelConfig['arch'], typeof cifar, number][] = [
  ['resnet20', cifar, 269_722],
  ['resnet32', cifar, 464_154],
  ['resnet56', cifar, 853_018],
  ['resnet18', imagenet, 11_689_512],
  ['resnet34', imagenet, 21_797_672],
  ['vgg11', imagenet, 132_868_840],
  ['vgg16', imagenet, 138_365_992],
  ['mobilenetv2', imagenet, 3_504_872],
  ['lenet5', { height: 28, width: 28, channels: 1, numClasses: 10 }, 44_426],
  ['lenet5', { height: 32, width: 32, channels: 1, numClasses: 10 }, 61_706],
];

for (const [arch, input, expected] of PUBLISHED) {
  test(`${arch} at ${input.height}×${input.width}×${input.channels} has the published ${expected.toLocaleString('en-US')} parameters`, () => {
    assert.equal(paramCount(buildModelSpec(model(arch), input)), expected);
  });
}

test('MLP 784-200-200-10 counts weights and biases', () => {
  const spec = buildModelSpec(model('mlp', { hidden: [200, 200] }), { height: 28, width: 28, channels: 1, numClasses: 10 });
  assert.equal(paramCount(spec), 784 * 200 + 200 + 200 * 200 + 200 + 200 * 10 + 10);
});

test('width multiplier scales channels', () => {
  const half = buildModelSpec(model('resnet18', { width: 0.5, smallInput: true }), cifar);
  const conv1 = half.params.find((p) => p.name === 'conv1.kernel')!;
  assert.deepEqual(conv1.shape, [3, 3, 3, 32]);
  assert.ok(paramCount(half) < paramCount(buildModelSpec(model('resnet18', { smallInput: true }), cifar)) / 3);
});

test('small-input ResNet-18 keeps 32×32 resolution in its first stage', () => {
  const spec = buildModelSpec(model('resnet18', { smallInput: true }), cifar);
  const shapes = inferShapes(spec);
  assert.deepEqual(shapes.get(spec.output), [10]);
  const firstAdd = spec.ops.find((o) => o.op === 'add')!;
  assert.deepEqual(shapes.get(firstAdd.output), [32, 32, 64]);
});

test('first and last weight layers are marked', () => {
  const spec = buildModelSpec(model('resnet20'), cifar);
  assert.equal(spec.params.find((p) => p.name === 'conv1.kernel')!.position, 'first');
  assert.equal(spec.params.find((p) => p.name === 'fc.kernel')!.position, 'last');
  assert.equal(spec.params.find((p) => p.name === 'fc.bias')!.position, 'last');
});

test('an input too small for LeNet-5 is a ShapeError naming the layer', () => {
  assert.throws(() => buildModelSpec(model('lenet5'), { height: 8, width: 8, channels: 1, numClasses: 10 }), (e: unknown) => e instanceof ShapeError && /conv2|too small/.test(e.message));
});

test('ImageNet ResNet-18 reduces 224×224 to 7×7×512 before pooling', () => {
  const spec = buildModelSpec(model('resnet18'), imagenet);
  const gap = spec.ops.find((o) => o.op === 'globalavgpool')!;
  assert.deepEqual(inferShapes(spec).get(gap.input), [7, 7, 512]);
});

test('VGG without BatchNorm is torchvision\'s vgg11 (132,863,336); MobileNetV2 has 17 inverted-residual blocks (a depthwise kernel each), 10 with a residual add', () => {
  assert.equal(paramCount(buildModelSpec(model('vgg11', { batchNorm: false }), imagenet)), 132_863_336);
  const spec = buildModelSpec(model('mobilenetv2'), imagenet);
  assert.equal(spec.params.filter((p) => p.kind === 'depthwise').length, 17);
  assert.equal(spec.ops.filter((o) => o.op === 'add').length, 10);
  assert.deepEqual(inferShapes(spec).get(spec.ops.find((o) => o.op === 'globalavgpool')!.input), [7, 7, 1280]);
});

test('the ViT: tokens from patches, a class token, the head on it; heads must divide dim', () => {
  const spec = buildModelSpec(model('vit'), { height: 32, width: 32, channels: 3, numClasses: 10 });
  const shapes = inferShapes(spec);
  const pos = spec.ops.find((o) => o.op === 'position-embedding')!;
  assert.deepEqual(shapes.get(pos.output), [65, 64]);
  assert.equal(spec.params.filter((p) => p.kind === 'attention').length, 16);
  assert.throws(() => buildModelSpec(model('vit', { vit: { patch: 4, dim: 64, depth: 1, heads: 5, mlpDim: 8, dropout: 0 } }), cifar), (e: unknown) => e instanceof ShapeError && /heads must divide/.test(e.message));
});
