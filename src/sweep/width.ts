// The width baseline: the plain model scaled by model.width so that its parameter count is as
// close as possible to a target (an RPG point's trained DoF: ring + free parameters).
import type { RpgConfig } from '../core/config/schema';
import { buildModelSpec, ModelInput, modelLabel } from '../core/models/architectures';
import { paramCount } from '../core/models/spec';

export interface WidthMatch {
  readonly width: number;
  readonly params: number;
}

function countAt(config: RpgConfig, input: ModelInput, width: number): number | undefined {
  try {
    return paramCount(buildModelSpec({ ...config.model, width }, input));
  } catch {
    return undefined; // e.g. a shape error at an extreme width
  }
}

/**
 * Bisection on the width multiplier (parameter counts grow with it, in steps because channel
 * counts round), then the closest of the neighbouring candidates. When even the narrowest
 * model (every layer at one channel/unit) has more parameters, that model is returned.
 */
export function matchWidth(config: RpgConfig, input: ModelInput, targetParams: number): WidthMatch {
  let lo = 1e-4;
  let hi = 16;
  const candidates: WidthMatch[] = [];
  for (let i = 0; i < 60; i++) {
    const mid = Math.sqrt(lo * hi);
    const n = countAt(config, input, mid);
    if (n === undefined) break;
    candidates.push({ width: mid, params: n });
    if (n < targetParams) lo = mid;
    else hi = mid;
  }
  for (const w of [lo, hi]) {
    const n = countAt(config, input, w);
    if (n !== undefined) candidates.push({ width: w, params: n });
  }
  if (!candidates.length) throw new Error(`no width multiplier builds ${modelLabel(config.model)} for this input`);
  candidates.sort((a, b) => Math.abs(a.params - targetParams) - Math.abs(b.params - targetParams) || a.width - b.width);
  const best = candidates[0]!;
  // Report a short multiplier that builds the same model.
  for (const digits of [2, 3, 4, 5, 6]) {
    const w = Number(best.width.toPrecision(digits));
    if (countAt(config, input, w) === best.params) return { width: w, params: best.params };
  }
  return best;
}
