// Degrees-of-freedom accounting: what is trained (ring + free parameters), what is generated,
// and how that compares with the equivalent plain model. Pure arithmetic over a plan.
import type { ModelSpec } from '../models/spec';
import type { RpgPlan } from './plan';

export interface LayerRow {
  readonly name: string;
  readonly layer: string;
  readonly kind: string;
  readonly shape: readonly number[];
  readonly params: number;
  readonly generated: boolean;
  /** Generated layers: fixed scale c_l and the layer's std at init. */
  readonly scale?: number;
  readonly initStd?: number;
  /** Generated layers: size / M, how many times the layer's fetch goes around the ring. */
  readonly reuse?: number;
  /** Generated layers: distinct ring entries the layer reads (exact in ring mode, expected in shuffled mode). */
  readonly distinctEntries?: number;
  /** Generated layers: share of all generated weights. */
  readonly share?: number;
  /** Generated layers: first weight's position in the global fetch order. */
  readonly offset?: number;
}

/** One parameter kind: how much of it the ring generates and why the rest is free. */
export interface KindRow {
  readonly kind: string;
  readonly params: number;
  readonly generated: number;
  readonly free: number;
  /** The distinct reasons its free parameters are free. */
  readonly freeReasons: readonly string[];
}

export interface DofSummary {
  readonly arch: string;
  readonly totalParams: number;
  readonly generatedParams: number;
  readonly freeParams: number;
  readonly ringSize: number;
  /** ring + free: what the optimizer actually trains. */
  readonly dof: number;
  /** totalParams / dof. */
  readonly compression: number;
  /** N / M: how many weights each ring entry feeds on average. */
  readonly reuse: number;
  /** ringSize / generatedParams. */
  readonly ringFraction: number;
  /** dof / totalParams. */
  readonly dofFraction: number;
  readonly rows: readonly LayerRow[];
}

/**
 * The summary per kind (conv, depthwise, dense, attention, embedding, bias, …, in first-seen
 * order), with why free parts are free (the plan's freeReasons). Kept out of DofSummary, which
 * both engines print identically (`rpg plan --json`, `python -m rpg_torch plan --json`).
 */
export function kindRows(rows: readonly LayerRow[], freeReasons: Readonly<Record<string, string>> = {}): KindRow[] {
  const by = new Map<string, { params: number; generated: number; reasons: Set<string> }>();
  for (const r of rows) {
    const k = by.get(r.kind) ?? { params: 0, generated: 0, reasons: new Set<string>() };
    k.params += r.params;
    if (r.generated) k.generated += r.params;
    else if (freeReasons[r.name]) k.reasons.add(freeReasons[r.name]!);
    by.set(r.kind, k);
  }
  return [...by].map(([kind, k]) => ({ kind, params: k.params, generated: k.generated, free: k.params - k.generated, freeReasons: [...k.reasons] }));
}

export function summarizeDof(spec: ModelSpec, plan: RpgPlan | undefined): DofSummary {
  const totalParams = spec.params.reduce((s, p) => s + p.size, 0);
  if (!plan) {
    const rows = spec.params.map((p) => ({ name: p.name, layer: p.layer, kind: p.kind, shape: p.shape, params: p.size, generated: false }));
    return { arch: spec.arch, totalParams, generatedParams: 0, freeParams: totalParams, ringSize: 0, dof: totalParams, compression: 1, reuse: 0, ringFraction: 0, dofFraction: 1, rows };
  }
  const M = plan.ringSize;
  const N = plan.generatedCount;
  const freeParams = plan.free.reduce((s, p) => s + p.size, 0);
  const byName = new Map(plan.layers.map((l) => [l.param.name, l]));
  const rows: LayerRow[] = spec.params.map((p) => {
    const g = byName.get(p.name);
    if (!g) return { name: p.name, layer: p.layer, kind: p.kind, shape: p.shape, params: p.size, generated: false };
    const distinct = plan.mode === 'ring' ? Math.min(g.size, M) : M * (1 - Math.pow(1 - 1 / M, g.size));
    return {
      name: p.name, layer: p.layer, kind: p.kind, shape: p.shape, params: p.size, generated: true,
      scale: g.scale, initStd: g.initStd, reuse: g.size / M, distinctEntries: distinct, share: g.size / N, offset: g.offset,
    };
  });
  const dof = M + freeParams;
  return {
    arch: spec.arch, totalParams, generatedParams: N, freeParams, ringSize: M, dof,
    compression: totalParams / dof, reuse: N / M, ringFraction: M / N, dofFraction: dof / totalParams, rows,
  };
}
