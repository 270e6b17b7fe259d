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
