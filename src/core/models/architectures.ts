// The architectures RPG Studio can build, as ModelSpecs. Parameter counts match the published
// models (see test/unit/models.test.ts): CIFAR ResNet-20/32/56 with the paper's parameter-free
// "option A" shortcuts, torchvision's ImageNet ResNet-18/34.
import type { Architecture, ModelConfig } from '../config/schema';
import { ModelSpec, SpecBuilder } from './spec';
import { inferShapes } from './shapes';

export interface ModelInput {
  readonly height: number;
  readonly width: number;
  readonly channels: number;
  readonly numClasses: number;
}

const scaled = (channels: number, width: number) => Math.max(1, Math.round(channels * width));

export function buildModelSpec(model: ModelConfig, input: ModelInput): ModelSpec {
  const numClasses = model.numClasses ?? input.numClasses;
  const shape = [input.height, input.width, input.channels] as const;
  const spec = BUILDERS[model.arch](new SpecBuilder(model.arch, shape, numClasses), model);
  inferShapes(spec); // throws ShapeError for impossible input sizes
  return spec;
}

type Builder = (b: SpecBuilder, m: ModelConfig) => ModelSpec;

function mlp(b: SpecBuilder, m: ModelConfig): ModelSpec {
  let x = b.flatten('input');
  let units = b.inputShape[0] * b.inputShape[1] * b.inputShape[2];
  m.hidden.forEach((h, i) => {
    const w = scaled(h, m.width);
    x = b.relu(b.dense(x, `fc${i + 1}`, w, units));
    units = w;
  });
  return b.build(b.dense(x, `fc${m.hidden.length + 1}`, b.numClasses, units));
}

function lenet5(b: SpecBuilder, m: ModelConfig): ModelSpec {
  const [h, w, c] = b.inputShape;
  const c1 = scaled(6, m.width);
  const c2 = scaled(16, m.width);
  let x = b.relu(b.conv('input', 'conv1', c, c1, 5, 1, { bias: true, padding: 'valid' }));
  x = b.maxpool(x, 2, 2);
  x = b.relu(b.conv(x, 'conv2', c1, c2, 5, 1, { bias: true, padding: 'valid' }));
  x = b.flatten(b.maxpool(x, 2, 2));
  const side = (n: number) => Math.floor((Math.floor((n - 4) / 2) - 4) / 2);
  const flat = Math.max(0, side(h)) * Math.max(0, side(w)) * c2;
  x = b.relu(b.dense(x, 'fc1', scaled(120, m.width), flat));
  x = b.relu(b.dense(x, 'fc2', scaled(84, m.width), scaled(120, m.width)));
  return b.build(b.dense(x, 'fc3', b.numClasses, scaled(84, m.width)));
}

function convBn(b: SpecBuilder, m: ModelConfig, x: string, name: string, cin: number, cout: number, k: number, stride: number): string {
  const y = b.conv(x, name, cin, cout, k, stride);
  return m.batchNorm ? b.batchnorm(y, `${name}.bn`, cout) : y;
}

function cifarResNet(blocksPerStage: number): Builder {
  return (b, m) => {
    const widths = [16, 32, 64].map((c) => scaled(c, m.width));
    let x = b.relu(convBn(b, m, 'input', 'conv1', b.inputShape[2], widths[0]!, 3, 1));
    let cin = widths[0]!;
    widths.forEach((cout, stage) => {
      for (let block = 0; block < blocksPerStage; block++) {
        const stride = stage > 0 && block === 0 ? 2 : 1;
        const name = `layer${stage + 1}.${block}`;
        let y = b.relu(convBn(b, m, x, `${name}.conv1`, cin, cout, 3, stride));
        y = convBn(b, m, y, `${name}.conv2`, cout, cout, 3, 1);
        const shortcut = stride !== 1 || cin !== cout ? b.padShortcut(x, stride, cout) : x;
        x = b.relu(b.add(y, shortcut));
        cin = cout;
      }
    });
    return b.build(b.dense(b.globalAvgPool(x), 'fc', b.numClasses, cin));
  };
}

function imagenetResNet(blocks: readonly number[]): Builder {
  return (b, m) => {
    const widths = [64, 128, 256, 512].map((c) => scaled(c, m.width));
    let x: string;
    if (m.smallInput) {
      x = b.relu(convBn(b, m, 'input', 'conv1', b.inputShape[2], widths[0]!, 3, 1));
    } else {
      x = b.relu(convBn(b, m, 'input', 'conv1', b.inputShape[2], widths[0]!, 7, 2));
      x = b.maxpool(x, 3, 2, 'same');
    }
    let cin = widths[0]!;
    widths.forEach((cout, stage) => {
      for (let block = 0; block < blocks[stage]!; block++) {
        const stride = stage > 0 && block === 0 ? 2 : 1;
        const name = `layer${stage + 1}.${block}`;
        let y = b.relu(convBn(b, m, x, `${name}.conv1`, cin, cout, 3, stride));
        y = convBn(b, m, y, `${name}.conv2`, cout, cout, 3, 1);
        const shortcut = stride !== 1 || cin !== cout ? convBn(b, m, x, `${name}.downsample`, cin, cout, 1, stride) : x;
        x = b.relu(b.add(y, shortcut));
        cin = cout;
      }
    });
    return b.build(b.dense(b.globalAvgPool(x), 'fc', b.numClasses, cin));
  };
}

const BUILDERS: Record<Architecture, Builder> = {
  mlp,
  lenet5,
  resnet20: cifarResNet(3),
  resnet32: cifarResNet(5),
  resnet56: cifarResNet(9),
  resnet18: imagenetResNet([2, 2, 2, 2]),
  resnet34: imagenetResNet([3, 4, 6, 3]),
};
