// Mean ± standard deviation across seeds: how sweeps, the runs table and its plots summarize
// repeated runs of one setting. Pure arithmetic, shared by the CLI and the webviews.

export interface Aggregate {
  readonly n: number;
  readonly mean: number;
  /** Sample standard deviation (n − 1 in the denominator); 0 for a single value. */
  readonly std: number;
  readonly min: number;
  readonly max: number;
}

/** Mean, sample std, min and max of the finite values (n = 0: NaNs). */
export function aggregateOf(values: readonly number[]): Aggregate {
  const xs = values.filter((v) => Number.isFinite(v));
  const n = xs.length;
  if (!n) return { n: 0, mean: NaN, std: NaN, min: NaN, max: NaN };
  const mean = xs.reduce((s, v) => s + v, 0) / n;
  const variance = n > 1 ? xs.reduce((s, v) => s + (v - mean) ** 2, 0) / (n - 1) : 0;
  return { n, mean, std: Math.sqrt(variance), min: Math.min(...xs), max: Math.max(...xs) };
}

/** Items grouped by key, groups in order of first appearance. */
export function aggregateBy<T>(items: readonly T[], key: (item: T) => string): { key: string; items: T[] }[] {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const k = key(item);
    const g = groups.get(k);
    if (g) g.push(item);
    else groups.set(k, [item]);
  }
  return [...groups].map(([k, g]) => ({ key: k, items: g }));
}

/**
 * Where a measured curve first reaches `target`: the smallest DoF whose mean accuracy reaches
 * it, moved back towards the size before by interpolating linearly in ln(DoF) between the two
 * (the log-linear law, locally). `below` is that previous size; undefined when the first size
 * already reaches the target (the crossing is at or below it) and the result itself is
 * undefined when no size reaches it.
 */
export function measuredCrossing(points: readonly { readonly dof: number; readonly mean: number }[], target: number): { dof: number; below?: number; above: number } | undefined {
  const sorted = [...points].filter((p) => p.dof > 0 && Number.isFinite(p.mean)).sort((a, b) => a.dof - b.dof);
  const i = sorted.findIndex((p) => p.mean >= target);
  if (i < 0) return undefined;
  const hi = sorted[i]!;
  if (i === 0) return { dof: hi.dof, above: hi.dof };
  const lo = sorted[i - 1]!;
  const t = (target - lo.mean) / (hi.mean - lo.mean);
  return { dof: Math.exp(Math.log(lo.dof) + t * (Math.log(hi.dof) - Math.log(lo.dof))), below: lo.dof, above: hi.dof };
}
