// `model.graph`: a model declared as nodes — an id, an op, the op's attributes and the ids of its
// inputs — plus reusable blocks. The op table below is the single list of ops and of which
// attributes each takes; the schema (validation, JSON Schema, hover, completion) and the
// compiler (src/core/models/graph.ts) both read it.
import { arrayOf, bool, either, enumOf, Infer, num, obj, optional, record, str } from './schema-dsl';

/** Attributes a node may carry besides id, op and inputs. */
export const GRAPH_ATTRIBUTES = [
  'filters', 'units', 'kernel', 'stride', 'padding', 'dilation', 'groups', 'multiplier', 'bias', 'epsilon',
  'size', 'rate', 'shape', 'axis', 'vocab', 'dim', 'heads', 'keyDim', 'patch', 'index', 'block', 'repeat',
] as const;
export type GraphAttribute = (typeof GRAPH_ATTRIBUTES)[number];

interface OpInfo {
  readonly description: string;
  readonly required: readonly GraphAttribute[];
  readonly optional: readonly GraphAttribute[];
  /** How many inputs: one (default), two or more, or any number ≥ 1. */
  readonly inputs?: 'one' | 'many';
}

const WINDOW = ['stride', 'padding', 'dilation'] as const;

export const GRAPH_OPS = {
  conv2d: { description: 'Convolution k×k (square), TF padding ("same"/"valid"); groups > 1 splits the channels (groups = input channels: depthwise). Defaults: filters = the input\'s channels (so a block fits any width), stride 1, padding "same", dilation 1, groups 1, bias true. Generated (kind conv).', required: ['kernel'], optional: ['filters', ...WINDOW, 'groups', 'bias'] },
  depthwiseConv2d: { description: 'Depthwise convolution: `multiplier` k×k filters per input channel. Defaults: stride 1, padding "same", dilation 1, multiplier 1, bias true. Generated (kind depthwise).', required: ['kernel'], optional: [...WINDOW, 'multiplier', 'bias'] },
  dense: { description: 'Fully connected over the last axis (a vector, or every token of a sequence); units "numClasses" = the dataset\'s class count. Default bias true. Generated (kind dense).', required: ['units'], optional: ['bias'] },
  batchNorm: { description: 'Batch normalization over the last axis (batch statistics while training, running averages at evaluation). Default epsilon 1e-5. Free.', required: [], optional: ['epsilon'] },
  layerNorm: { description: 'Layer normalization over the last axis, with a learned scale and shift. Default epsilon 1e-5. Free.', required: [], optional: ['epsilon'] },
  relu: { description: 'max(x, 0).', required: [], optional: [] },
  relu6: { description: 'min(max(x, 0), 6) (MobileNet).', required: [], optional: [] },
  gelu: { description: 'GELU, x·Φ(x) (exact, with erf).', required: [], optional: [] },
  sigmoid: { description: '1 / (1 + e^−x).', required: [], optional: [] },
  tanh: { description: 'tanh(x).', required: [], optional: [] },
  softmax: { description: 'Softmax over the last axis. As the graph\'s output it is left out: the loss takes logits.', required: [], optional: [] },
  maxPool: { description: 'Max pooling size×size. Defaults: stride = size, padding "valid".', required: ['size'], optional: ['stride', 'padding'] },
  avgPool: { description: 'Average pooling size×size. Defaults: stride = size, padding "valid".', required: ['size'], optional: ['stride', 'padding'] },
  globalAvgPool: { description: 'Mean over every axis but the last: an image h×w×c → c, a sequence tokens×dim → dim.', required: [], optional: [] },
  globalMaxPool: { description: 'Maximum over every axis but the last.', required: [], optional: [] },
  flatten: { description: 'Everything but the batch into one vector.', required: [], optional: [] },
  reshape: { description: 'To `shape` (per example, without the batch; one entry may be -1).', required: ['shape'], optional: [] },
  dropout: { description: 'Zeroes a fraction `rate` of the values while training (mask drawn from the seed and the step), identity at evaluation.', required: ['rate'], optional: [] },
  add: { description: 'Elementwise sum of two or more inputs of the same shape (residual connections).', required: [], optional: [], inputs: 'many' },
  concat: { description: 'Concatenation of two or more inputs along `axis` (default -1, the channels/features).', required: [], optional: ['axis'], inputs: 'many' },
  embedding: { description: 'Integer ids (the input\'s values, floored and clipped to 0…vocab−1) → rows of a vocab×dim table. Generated (kind embedding).', required: ['vocab', 'dim'], optional: [] },
  attention: { description: 'Multi-head self-attention over a tokens×dim sequence: query/key/value projections to heads×keyDim (default keyDim = dim / heads), softmax(QKᵀ/√keyDim)·V, output projection back to dim. Default bias true. Generated (kind attention).', required: ['heads'], optional: ['keyDim', 'bias'] },
  patchEmbedding: { description: 'Cuts an image into patch×patch tiles and projects each to `dim` (a conv with kernel = stride = patch): h×w×c → (h/patch·w/patch)×dim tokens. Generated (kind conv).', required: ['patch', 'dim'], optional: ['bias'] },
  classToken: { description: 'Prepends a learnable token to a sequence: tokens×dim → (tokens+1)×dim (ViT). Free.', required: [], optional: [] },
  positionEmbedding: { description: 'Adds a learnable tokens×dim position table. Free.', required: [], optional: [] },
  selectToken: { description: 'One token of a sequence: tokens×dim → dim (default index 0, the class token).', required: [], optional: ['index'] },
  block: { description: 'Inserts the block `block` (from graph.blocks) `repeat` times in a row (default 1), each repeat with its own parameters: the nodes become "<id>.<node>" (repeat 1) or "<id>.<i>.<node>".', required: ['block'], optional: ['repeat'] },
} as const satisfies Record<string, OpInfo>;

export type GraphOpName = keyof typeof GRAPH_OPS;
export const GRAPH_OP_NAMES = Object.keys(GRAPH_OPS) as GraphOpName[];
export const opInfo = (op: GraphOpName): OpInfo => GRAPH_OPS[op];

/** Node ids: no dots (blocks use them to name their nodes) and not "input" (the model's input). */
export const NODE_ID_PATTERN = '^[A-Za-z_][A-Za-z0-9_\\-]*$';
export const INPUT_ID = 'input';

const posInt = (description: string, examples: number[], maximum = 1_000_000) => optional(num({ description, integer: true, minimum: 1, maximum, examples }));

export const graphNodeSchema = obj(
  {
    id: str({ description: 'The node\'s name, unique in its graph or block: other nodes list it in `inputs`, and its parameters are named after it ("conv1.kernel"). Letters, digits, _ and -; "input" is the model input.', pattern: NODE_ID_PATTERN, patternMessage: 'a node id is letters, digits, _ and - (no dots), starting with a letter or _', examples: ['conv1'] }),
    op: enumOf(GRAPH_OP_NAMES, { description: 'What the node computes.', enumDescriptions: GRAPH_OP_NAMES.map((o) => GRAPH_OPS[o].description), examples: ['conv2d'] }),
    inputs: optional(arrayOf(str({ description: 'A node id, or "input" for the model (or block) input.', minLength: 1, examples: ['input'] }), { description: 'Ids of the nodes this one reads (add/concat: two or more). Default: the previous node in the list (the first node reads "input").', minItems: 1, maxItems: 64, examples: [['input'], ['conv2', 'shortcut']] })),
    filters: posInt('conv2d: output channels (default: as many as the input has).', [16, 64]),
    units: optional(either(num({ description: 'Output features.', integer: true, minimum: 1, maximum: 1_000_000, examples: [128] }), enumOf(['numClasses'] as const, { description: 'The dataset\'s class count.', examples: ['numClasses'] }), { description: 'dense: output features, or "numClasses".', examples: [128, 'numClasses'] })),
    kernel: posInt('conv2d, depthwiseConv2d: kernel size k (a k×k window).', [3, 1]),
    stride: posInt('conv2d, depthwiseConv2d, maxPool, avgPool: step between windows (default 1; pools: their size).', [1, 2], 64),
    padding: optional(enumOf(['same', 'valid'] as const, { description: 'conv2d, depthwiseConv2d, maxPool, avgPool: "same" keeps ⌈size/stride⌉ (zero padding as TensorFlow), "valid" uses only full windows (convs default "same", pools "valid").', examples: ['same'] })),
    dilation: posInt('conv2d, depthwiseConv2d: spacing of the kernel taps (default 1; > 1 needs stride 1).', [2], 64),
    groups: posInt('conv2d: channel groups (default 1); input and output channels must divide by it.', [1, 2], 65536),
    multiplier: posInt('depthwiseConv2d: filters per input channel (default 1).', [1], 1024),
    bias: optional(bool({ description: 'conv2d, depthwiseConv2d, dense, attention, patchEmbedding: add a learned bias (default true; free, like every bias).', examples: [false] })),
    epsilon: optional(num({ description: 'batchNorm, layerNorm: added to the variance (default 1e-5).', exclusiveMinimum: 0, maximum: 1, examples: [1e-5, 1e-3] })),
    size: posInt('maxPool, avgPool: window size.', [2, 3], 1024),
    rate: optional(num({ description: 'dropout: fraction of values zeroed while training, in [0, 1).', minimum: 0, maximum: 0.99, examples: [0.1, 0.5] })),
    shape: optional(arrayOf(num({ description: 'A dimension, or -1 for "the rest".', integer: true, minimum: -1, maximum: 100_000_000, examples: [49, 64] }), { description: 'reshape: the new per-example shape (no batch axis).', minItems: 1, maxItems: 8, examples: [[49, 16]] })),
    axis: optional(num({ description: 'concat: the axis of the per-example shape (0-based, no batch axis; -1 = the last).', integer: true, minimum: -8, maximum: 7, examples: [-1] })),
    vocab: posInt('embedding: number of distinct ids (table rows).', [1000]),
    dim: posInt('embedding, patchEmbedding: width of each token.', [64]),
    heads: posInt('attention: number of heads.', [4], 1024),
    keyDim: posInt('attention: width of each head (default dim / heads).', [16], 65536),
    patch: posInt('patchEmbedding: patch side.', [4, 7], 1024),
    index: optional(num({ description: 'selectToken: which token (default 0).', integer: true, minimum: 0, maximum: 1_000_000, examples: [0] })),
    block: optional(str({ description: 'block: the name of a block in graph.blocks.', minLength: 1, examples: ['residual'] })),
    repeat: posInt('block: how many copies in a row, each with its own parameters (default 1).', [3], 1000),
  },
  { description: 'One node: an id, an op, the op\'s attributes and its inputs.', required: ['id', 'op'] },
);

export type GraphNodeConfig = Infer<typeof graphNodeSchema>;

export const graphBlockSchema = obj(
  {
    description: optional(str({ description: 'Free text.', examples: ['basic residual block'] })),
    nodes: arrayOf(graphNodeSchema, { description: 'The block\'s nodes; "input" is the block\'s input.', minItems: 1, maxItems: 10_000 }),
    output: optional(str({ description: 'The node whose value the block returns. Default: the last node.', minLength: 1, examples: ['add'] })),
  },
  { description: 'A reusable block: nodes with one input ("input") and one output.', required: ['nodes'] },
);

export const graphSchema = obj(
  {
    nodes: arrayOf(graphNodeSchema, {
      description: 'The model\'s nodes, in any order; "input" is the dataset\'s image (height×width×channels).',
      minItems: 1,
      maxItems: 10_000,
      examples: [[{ id: 'conv1', op: 'conv2d', filters: 16, kernel: 3 }, { id: 'relu1', op: 'relu' }, { id: 'pool', op: 'globalAvgPool' }, { id: 'head', op: 'dense', units: 'numClasses' }]],
    }),
    blocks: optional(record(graphBlockSchema, { description: 'Blocks by name, each inserted by "block" nodes (repeatable, own parameters each time).', keyPattern: NODE_ID_PATTERN, keyMessage: 'a block name is letters, digits, _ and - (no dots)' })),
    output: optional(str({ description: 'The node giving the logits (a vector of numClasses). Default: the last node.', minLength: 1, examples: ['head'] })),
  },
  { description: 'The model as a graph of nodes. Shapes are inferred from the dataset\'s input; every conv/depthwise/dense/attention/embedding kernel is generated by the ring unless rpg.free keeps it free.', required: ['nodes'] },
);

export type GraphBlockConfig = Infer<typeof graphBlockSchema>;
export type GraphConfig = Infer<typeof graphSchema>;
