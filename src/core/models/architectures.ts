// The architectures RPG Studio can build, as ModelSpecs. Parameter counts match the published
// models (see test/unit/models.test.ts): CIFAR ResNet-20/32/56 with the paper's parameter-free
// "option A" shortcuts, torchvision's ImageNet ResNet-18/34, VGG-11/16 with BatchNorm and
// MobileNetV2. A `model.graph` compiles through graph.ts, a `model.import` through keras-import.ts.
import type { Architecture, ModelConfig } from '../config/schema';
import { ModelInput, ModelSpec, SpecBuilder } from './spec';
import { inferShapes, ShapeError } from './shapes';
import { buildGraphSpec, compileGraph, GraphError, GraphIssue } from './graph';
import { importedGraph, importInputIssues } from './keras-import';

export type { ModelInput } from './spec';

const scaled = (channels: number, width: number) => Math.max(1, Math.round(channels * width));

export interface BuildOptions {
  /** Folder that a relative `model.import` path resolves against (the config file's). */
  readonly baseDir?: string;
}

export function buildModelSpec(model: ModelConfig, input: ModelInput, options: BuildOptions = {}): ModelSpec {
  const numClasses = model.numClasses ?? input.numClasses;
  const shape = [input.height, input.width, input.channels] as const;
  let spec: ModelSpec;
  if (model.graph) {
    spec = buildGraphSpec(model.graph, { ...input, numClasses }, { arch: 'graph', basePath: ['model', 'graph'] });
  } else if (model.import !== undefined) {
    const imported = importedGraph(model.import, options.baseDir);
    const mismatch = importInputIssues(imported, input);
    if (mismatch.length) throw new GraphError(mismatch);
    spec = buildGraphSpec(imported.graph, { ...input, numClasses }, { arch: imported.arch, basePath: ['model', 'import'], fixedPath: ['model', 'import'], describe: imported.describe });
  } else {
    const arch = model.arch ?? 'mlp';
    spec = BUILDERS[arch](new SpecBuilder(arch, shape, numClasses), model);
  }
  inferShapes(spec); // throws ShapeError for impossible input sizes
  return spec;
}

/**
 * What a graph or imported model builds with but is worth saying: nodes no path reaches
 * (warnings at their JSON paths) and notes (a final softmax left to the loss). Empty for
 * built-ins and for models that do not build (buildModelSpec says why).
 */
export function modelNotes(model: ModelConfig, input: ModelInput, options: BuildOptions = {}): { warnings: GraphIssue[]; notes: string[] } {
  const numClasses = model.numClasses ?? input.numClasses;
  try {
    if (model.graph) {
      const r = compileGraph(model.graph, { ...input, numClasses }, { arch: 'graph', basePath: ['model', 'graph'] });
      return { warnings: r.issues.filter((i) => i.severity === 'warning'), notes: r.notes };
    }
    if (model.import !== undefined) {
      const imported = importedGraph(model.import, options.baseDir);
      const r = compileGraph(imported.graph, { ...input, numClasses }, { arch: imported.arch, basePath: ['model', 'import'], fixedPath: ['model', 'import'], describe: imported.describe });
      return { warnings: r.issues.filter((i) => i.severity === 'warning'), notes: r.notes };
    }
  } catch (err) {
    if (!(err instanceof GraphError)) throw err;
  }
  return { warnings: [], notes: [] };
}

/** How a model config names its model in messages: the arch, "graph", or the imported file. */
export function modelLabel(model: Pick<ModelConfig, 'arch' | 'graph' | 'import'>): string {
  return model.arch ?? (model.graph ? 'graph' : model.import !== undefined ? `import ${model.import}` : 'model');
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

function convBnAct(b: SpecBuilder, m: ModelConfig, x: string, name: string, cin: number, cout: number, k: number, stride: number, act: 'relu' | 'relu6' | 'none', opts: { bias?: boolean } = {}): string {
  const y = b.conv(x, name, cin, cout, k, stride, { bias: opts.bias ?? false });
  const z = m.batchNorm ? b.batchnorm(y, `${name}.bn`, cout) : y;
  return act === 'relu' ? b.relu(z) : act === 'relu6' ? b.activation(z, 'relu6') : z;
}

const VGG_STAGES = {
  vgg11: [64, 'M', 128, 'M', 256, 256, 'M', 512, 512, 'M', 512, 512, 'M'],
  vgg16: [64, 64, 'M', 128, 128, 'M', 256, 256, 256, 'M', 512, 512, 512, 'M', 512, 512, 512, 'M'],
} as const;

/**
 * VGG as torchvision builds it: 3×3 convs with bias, each followed by BatchNorm (when
 * batchNorm) and ReLU, 2×2 max-pools; the ImageNet head flattens the 7×7×512 map (torchvision's
 * adaptive pool is the identity at 224×224) into 4096-4096-classes with dropout 0.5. smallInput:
 * the CIFAR head, global average pool and one dense layer.
 */
function vgg(stages: readonly (number | 'M')[]): Builder {
  return (b, m) => {
    let x = 'input';
    let cin = b.inputShape[2];
    let conv = 0;
    for (const s of stages) {
      if (s === 'M') {
        x = b.maxpool(x, 2, 2);
        continue;
      }
      const cout = scaled(s, m.width);
      x = convBnAct(b, m, x, `features.${conv++}`, cin, cout, 3, 1, 'relu', { bias: true });
      cin = cout;
    }
    if (m.smallInput) return b.build(b.dense(b.globalAvgPool(x), 'classifier', b.numClasses, cin));
    const hidden = scaled(4096, m.width);
    const side = (n: number) => stages.reduce<number>((v, s) => (s === 'M' ? Math.floor(v / 2) : v), n);
    x = b.flatten(x);
    x = b.dropout(b.relu(b.dense(x, 'classifier.0', hidden, side(b.inputShape[0]) * side(b.inputShape[1]) * cin)), 'classifier.0.dropout', 0.5);
    x = b.dropout(b.relu(b.dense(x, 'classifier.1', hidden, hidden)), 'classifier.1.dropout', 0.5);
    return b.build(b.dense(x, 'classifier.2', b.numClasses, hidden));
  };
}

/** torchvision's _make_divisible: round to a multiple of 8, never more than 10% down. */
function divisible(v: number, by = 8): number {
  const r = Math.max(by, Math.floor((v + by / 2) / by) * by);
  return r < 0.9 * v ? r + by : r;
}

/**
 * MobileNetV2 as torchvision: a 3×3 stride-2 stem of 32, inverted residual blocks (1×1
 * expansion ×t, 3×3 depthwise, 1×1 projection without activation; a residual when the shape
 * stays), a 1×1 conv to 1280, global average pool, dropout 0.2 and the classifier. Convs have
 * no bias; BatchNorm and ReLU6 after each but the projection.
 */
function mobilenetV2(b: SpecBuilder, m: ModelConfig): ModelSpec {
  const settings = [[1, 16, 1, 1], [6, 24, 2, 2], [6, 32, 3, 2], [6, 64, 4, 2], [6, 96, 3, 1], [6, 160, 3, 2], [6, 320, 1, 1]] as const;
  let cin = divisible(32 * m.width);
  let x = convBnAct(b, m, 'input', 'features.0', b.inputShape[2], cin, 3, m.smallInput ? 1 : 2, 'relu6');
  let index = 1;
  for (const [t, c, n, s] of settings) {
    const cout = divisible(c * m.width);
    for (let i = 0; i < n; i++) {
      const stride = i === 0 ? s : 1;
      const name = `features.${index++}`;
      const hidden = Math.round(cin * t);
      let y = x;
      if (t !== 1) y = convBnAct(b, m, y, `${name}.expand`, cin, hidden, 1, 1, 'relu6');
      y = b.depthwise(y, `${name}.depthwise`, hidden, 3, stride);
      if (m.batchNorm) y = b.batchnorm(y, `${name}.depthwise.bn`, hidden);
      y = b.activation(y, 'relu6');
      y = convBnAct(b, m, y, `${name}.project`, hidden, cout, 1, 1, 'none');
      x = stride === 1 && cin === cout ? b.add(y, x) : y;
      cin = cout;
    }
  }
  const last = divisible(1280 * Math.max(1, m.width));
  x = convBnAct(b, m, x, `features.${index}`, cin, last, 1, 1, 'relu6');
  x = b.dropout(b.globalAvgPool(x), 'classifier.dropout', 0.2);
  return b.build(b.dense(x, 'classifier', b.numClasses, last));
}

export const VIT_DEFAULTS = { patch: 4, dim: 64, depth: 4, heads: 4, mlpDim: 128, dropout: 0 } as const;

/**
 * A small vision transformer (ViT, Dosovitskiy et al. 2021) for 28×28 and 32×32 inputs: a
 * patch×patch patch embedding, a class token and a learnable position embedding, `depth`
 * pre-norm blocks (LN → multi-head self-attention → add; LN → dense mlpDim → GELU → dense dim →
 * add), a final LN and a dense head on the class token. Names follow timm's.
 */
function vit(b: SpecBuilder, m: ModelConfig): ModelSpec {
  const v = { ...VIT_DEFAULTS, ...m.vit };
  const dim = scaled(v.dim, m.width);
  const [h, w, c] = b.inputShape;
  const tokens = Math.floor(h / v.patch) * Math.floor(w / v.patch);
  if (dim % v.heads !== 0) throw new ShapeError('blocks.0.attn', `vit: dim ${dim} does not split into ${v.heads} heads (model.vit.heads must divide model.vit.dim)`);
  if (tokens < 1) throw new ShapeError('patch_embed', `vit: a ${v.patch}×${v.patch} patch does not fit the ${h}×${w} input`);
  let x = b.reshape(b.conv('input', 'patch_embed', c, dim, v.patch, v.patch, { bias: true, padding: 'valid' }), [tokens, dim]);
  x = b.positionEmbedding(b.classToken(x, 'cls_token', dim), 'pos_embed', tokens + 1, dim);
  const drop = (y: string, name: string) => (v.dropout > 0 ? b.dropout(y, name, v.dropout) : y);
  for (let i = 0; i < v.depth; i++) {
    const name = `blocks.${i}`;
    let y = b.attention(b.layerNorm(x, `${name}.norm1`, dim, 1e-6), `${name}.attn`, dim, v.heads, dim / v.heads);
    x = b.add(x, drop(y, `${name}.attn.dropout`));
    y = b.activation(b.dense(b.layerNorm(x, `${name}.norm2`, dim, 1e-6), `${name}.mlp.fc1`, scaled(v.mlpDim, m.width), dim), 'gelu');
    y = b.dense(y, `${name}.mlp.fc2`, dim, scaled(v.mlpDim, m.width));
    x = b.add(x, drop(y, `${name}.mlp.dropout`));
  }
  x = b.selectToken(b.layerNorm(x, 'norm', dim, 1e-6), 0);
  return b.build(b.dense(x, 'head', b.numClasses, dim));
}

const BUILDERS: Record<Architecture, Builder> = {
  mlp,
  lenet5,
  resnet20: cifarResNet(3),
  resnet32: cifarResNet(5),
  resnet56: cifarResNet(9),
  resnet18: imagenetResNet([2, 2, 2, 2]),
  resnet34: imagenetResNet([3, 4, 6, 3]),
  vgg11: vgg(VGG_STAGES.vgg11),
  vgg16: vgg(VGG_STAGES.vgg16),
  mobilenetv2: mobilenetV2,
  vit,
};
