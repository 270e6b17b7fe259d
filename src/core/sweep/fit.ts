// Accuracy vs degrees of freedom: the paper's log-linear law, acc ≈ a + b·ln(DoF), fitted by
// ordinary least squares, and its inverse (the DoF a target accuracy needs).

export interface LogFit {
  /** Intercept: the predicted accuracy (fraction 0..1) at DoF = 1. */
  readonly a: number;
  /** Slope: accuracy gained per e-fold of DoF. */
  readonly b: number;
  /** Coefficient of determination of the fit over the points it was fitted to. */
  readonly r2: number;
  /** Points used. */
  readonly n: number;
}

/** Least-squares fit of acc = a + b·ln(dof). Needs at least two distinct DoF values. */
export function fitLogLinear(points: readonly { dof: number; acc: number }[]): LogFit | undefined {
  const pts = points.filter((p) => p.dof > 0 && Number.isFinite(p.acc));
  const n = pts.length;
  if (n < 2) return undefined;
  const xs = pts.map((p) => Math.log(p.dof));
  const ys = pts.map((p) => p.acc);
  const mx = xs.reduce((s, x) => s + x, 0) / n;
  const my = ys.reduce((s, y) => s + y, 0) / n;
  let sxx = 0;
  let sxy = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    const dx = xs[i]! - mx;
    const dy = ys[i]! - my;
    sxx += dx * dx;
    sxy += dx * dy;
    syy += dy * dy;
  }
  if (sxx === 0) return undefined;
  const b = sxy / sxx;
  const a = my - b * mx;
  let ssRes = 0;
  for (let i = 0; i < n; i++) ssRes += (ys[i]! - (a + b * xs[i]!)) ** 2;
  const r2 = syy === 0 ? (ssRes === 0 ? 1 : 0) : 1 - ssRes / syy;
  return { a, b, r2, n };
}

export function predictAcc(fit: Pick<LogFit, 'a' | 'b'>, dof: number): number {
  return fit.a + fit.b * Math.log(dof);
}

/** The DoF at which the fit reaches `targetAcc`; undefined when the slope is not positive. */
export function predictDof(fit: Pick<LogFit, 'a' | 'b'>, targetAcc: number): number | undefined {
  if (!(fit.b > 0)) return undefined;
  const dof = Math.exp((targetAcc - fit.a) / fit.b);
  return Number.isFinite(dof) ? dof : undefined;
}
