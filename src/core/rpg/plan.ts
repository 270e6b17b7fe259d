// The RPG plan: which parameters the ring generates, where each generated layer sits in the
// global fetch order, its fixed scale, and the ring size M. A plan is *counted*, not
// materialized: it is cheap for ResNet-34 (the language server builds one per keystroke).
// `materializePlan` (materialize.ts) expands it into per-weight ring indices and signs.
import type { RpgSettings } from '../config/schema';
import { isKernelKind, KERNEL_KINDS, ModelSpec, ParamSpec } from '../models/spec';
import { hashString } from './prng';

export type SamplingMode = 'ring' | 'shuffled';

/** Bumped whenever the way indices/signs are drawn changes: old checkpoints then refuse to load. */
export const PLAN_ALGORITHM_VERSION = 1;

export interface GeneratedLayer {
  readonly param: ParamSpec;
  /** Position of this layer's first weight in the global fetch order (sum of earlier sizes). */
  readonly offset: number;
  readonly size: number;
  /** c_l: the fixed multiplier giving this layer its He std at init (see `layerScale`). */
  readonly scale: number;
  /** The std this layer starts with: scale × ringInitStd. */
  readonly initStd: number;
  /**
   * A fixed value added to every generated weight of the layer (θ₀): 1 for BatchNorm γ, whose
   * plain init is 1, when `rpg.generate` is "all"; absent (0) for everything else.
   */
  readonly base?: number;
}

export interface RpgPlan {
  readonly mode: SamplingMode;
  readonly seed: number;
  /** Ring size M. */
  readonly ringSize: number;
  /** N: total generated weights. */
  readonly generatedCount: number;
  readonly ringInitStd: number;
  readonly layers: readonly GeneratedLayer[];
  /** Parameters trained directly (biases, norms, tokens, and kernels kept free). */
  readonly free: readonly ParamSpec[];
  /** Why each free parameter is free, by name: "bias", "norm", "stem", "head", 'rpg.free "x"'… */
  readonly freeReasons: Readonly<Record<string, string>>;
  /** Identifies (algorithm, architecture, M, seed, mode): stored in checkpoints. */
  readonly hash: string;
}

export class PlanError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
    this.name = 'PlanError';
  }
}

/** Names `rpg.free` accepts besides node ids: the kernel kinds, and the first/last weight layer. */
export const FREE_ALIASES = ['stem', 'head'] as const;
export const FREE_KINDS: readonly string[] = [...KERNEL_KINDS, ...FREE_ALIASES];

type FreeSettings = Pick<RpgSettings, 'freeFirst' | 'freeLast'> & { readonly free?: readonly string[]; readonly generate?: RpgSettings['generate'] };

/** Why a parameter is free, or undefined when the ring generates it. */
export function freeReason(p: ParamSpec, settings: FreeSettings): string | undefined {
  // Kernels come from the ring; with `generate: "all"` every other trained number does too.
  if (!isKernelKind(p.kind) && settings.generate !== 'all') return p.kind === 'bias' ? 'bias' : p.kind.startsWith('bn-') || p.kind.startsWith('ln-') ? 'norm' : p.kind;
  if ((settings.freeFirst || settings.free?.includes('stem')) && p.position === 'first') return 'stem';
  if ((settings.freeLast || settings.free?.includes('head')) && p.position === 'last') return 'head';
  for (const entry of settings.free ?? []) {
    if (entry === p.kind) return `rpg.free "${entry}"`;
    if (entry === p.name || entry === p.layer || p.layer.startsWith(`${entry}.`)) return `rpg.free "${entry}"`;
  }
  return undefined;
}

/**
 * Which parameters are generated: kernels (conv, depthwise, dense, attention, embedding) — with
 * `generate: "all"` every parameter — minus those kept free.
 */
export function isGenerated(p: ParamSpec, settings: FreeSettings): boolean {
  return freeReason(p, settings) === undefined;
}

/** rpg.free entries that name neither a kind nor a layer of the model: [index, entry]. */
export function unknownFreeEntries(spec: ModelSpec, free: readonly string[] | undefined): [number, string][] {
  const out: [number, string][] = [];
  (free ?? []).forEach((entry, i) => {
    if (FREE_KINDS.includes(entry)) return;
    if (spec.params.some((p) => entry === p.name || entry === p.layer || p.layer.startsWith(`${entry}.`))) return;
    out.push([i, entry]);
  });
  return out;
}

/**
 * The std each generated layer starts with. Convolutions (depthwise too) use He fan-out =
 * k²·C_out, as the official RPG code and torchvision's ResNets do; dense layers He fan-in
 * (Keras' he_normal), since fan-out would give the 10-way classifier a std of 0.45. Attention
 * projections feed no ReLU: LeCun fan-in, 1/√fan-in. Embedding rows start at 1/√dim.
 */
export function heStd(p: ParamSpec): number {
  switch (p.kind) {
    case 'conv':
    case 'depthwise':
      return Math.sqrt(2 / p.fanOut);
    case 'attention':
      return Math.sqrt(1 / p.fanIn);
    case 'embedding':
      return Math.sqrt(1 / p.fanOut);
    default:
      return Math.sqrt(2 / p.fanIn);
  }
}

/** c_l such that c_l · ringInitStd = He std of the layer (official: sqrt(4608 / (C_out k²))). */
export function layerScale(p: ParamSpec, ringInitStd: number): number {
  return heStd(p) / ringInitStd;
}

/** Resolves a DoF setting (integer or "x%") against the generated count N. */
export function resolveRingSize(dof: number | string, generatedCount: number): number {
  if (typeof dof === 'number') return dof;
  const pct = parseFloat(dof);
  if (!Number.isFinite(pct) || pct <= 0) throw new PlanError('rpg.dof', `rpg.dof: "${dof}" is not a positive percentage`);
  return Math.max(1, Math.round((generatedCount * pct) / 100));
}

/**
 * The fixed scale of every generated parameter. A kernel gets its He scale (layerScale). A
 * vector (bias, BatchNorm γ/β, generated only with `generate: "all"`) has no fan to take a He
 * std from: it takes the scale of the kernel before it in the model's parameter order (its own
 * layer's kernel for a bias, the convolution it normalizes for BatchNorm), so it starts around
 * its plain init with that layer's std and moves, under the projected learning rate, as fast
 * as that layer's weights.
 */
function planScales(spec: ModelSpec, ringInitStd: number): Map<string, number> {
  const scales = new Map<string, number>();
  let kernelScale = 1;
  for (const p of spec.params) {
    if (isKernelKind(p.kind)) kernelScale = layerScale(p, ringInitStd);
    scales.set(p.name, kernelScale);
  }
  return scales;
}

/** The settings a plan reads; `generate` and `method` default to "kernels" and "ring". */
export type PlanSettings = Omit<RpgSettings, 'generate' | 'method'> & Partial<Pick<RpgSettings, 'generate' | 'method'>>;

export function buildPlan(spec: ModelSpec, settings: PlanSettings, seed: number): RpgPlan {
  const generatedParams = spec.params.filter((p) => isGenerated(p, settings));
  const free = spec.params.filter((p) => !isGenerated(p, settings));
  const generatedCount = generatedParams.reduce((s, p) => s + p.size, 0);
  const unknown = unknownFreeEntries(spec, settings.free);
  if (unknown.length) {
    const [i, entry] = unknown[0]!;
    throw new PlanError(`rpg.free.${i}`, `rpg.free: "${entry}" is neither a kind (${FREE_KINDS.join(', ')}) nor a layer of ${spec.arch}`);
  }
  if (generatedCount === 0) throw new PlanError('rpg', 'no parameter is generated: the model has no kernel left after freeFirst/freeLast/free');
  const ringSize = resolveRingSize(settings.dof, generatedCount);
  if (!Number.isInteger(ringSize) || ringSize < 1) throw new PlanError('rpg.dof', `rpg.dof: the ring size must be a positive integer, got ${ringSize}`);
  if (ringSize > generatedCount) {
    throw new PlanError(
      'rpg.dof',
      `rpg.dof: a ring of ${ringSize.toLocaleString('en-US')} entries is larger than the ${generatedCount.toLocaleString('en-US')} generated parameters of ${spec.arch}; ${(ringSize - generatedCount).toLocaleString('en-US')} ring entries would never be used (use at most ${generatedCount.toLocaleString('en-US')}, which is the plain model up to permutation and signs)`,
    );
  }
  let offset = 0;
  const scales = planScales(spec, settings.ringInitStd);
  const layers = generatedParams.map((param) => {
    const scale = scales.get(param.name)!;
    const base = param.kind === 'bn-gamma' ? 1 : 0;
    const layer: GeneratedLayer = { param, offset, size: param.size, scale, initStd: scale * settings.ringInitStd, ...(base ? { base } : {}) };
    offset += param.size;
    return layer;
  });
  // A baseline method draws other arrays from the same seed: its plans must not match RPG's.
  // (Appended only when set, so every existing config keeps its plan hash and its checkpoints.)
  const method = settings.method && settings.method !== 'ring' ? [`method:${settings.method}`] : [];
  const descriptor = [
    `v${PLAN_ALGORITHM_VERSION}`,
    settings.sampling,
    seed,
    ringSize,
    ...generatedParams.map((p) => `${p.name}:${p.shape.join('x')}`),
    ...method,
  ].join('|');
  const hash = hashString(descriptor).toString(16).padStart(8, '0') + hashString(descriptor.split('').reverse().join('')).toString(16).padStart(8, '0');
  const freeReasons = Object.fromEntries(free.map((p) => [p.name, freeReason(p, settings)!]));
  return { mode: settings.sampling, seed, ringSize, generatedCount, ringInitStd: settings.ringInitStd, layers, free, freeReasons, hash };
}

/** A span of ring entries [start, end) a layer fetches before its permutation ("ring" mode). */
export interface RingSpan {
  readonly start: number;
  readonly end: number;
}

/**
 * The ring ranges a layer fetches in "ring" mode (consecutive entries with wrap-around):
 * at most two partial spans plus `fullWraps` complete passes around the ring.
 */
export function ringSpans(layer: GeneratedLayer, ringSize: number): { spans: RingSpan[]; fullWraps: number } {
  const start = layer.offset % ringSize;
  const fullWraps = Math.floor(layer.size / ringSize);
  const rest = layer.size % ringSize;
  const spans: RingSpan[] = [];
  if (rest > 0) {
    const end = start + rest;
    if (end <= ringSize) spans.push({ start, end });
    else spans.push({ start, end: ringSize }, { start: 0, end: end - ringSize });
  }
  return { spans, fullWraps };
}
