// Every parameter of a network as plain float32 arrays, generated kernels included: the
// generated ones through the pure-JS reference `generateWeights` (bit-exact from the ring).
import type { Network } from '../engines/tfjs/network';
import { generateWeights } from '../core/rpg/materialize';

export interface FullWeights {
  /** Every parameter of the spec by name. */
  readonly params: Map<string, Float32Array>;
  /** BatchNorm running statistics by BN op name. */
  readonly running: Map<string, { mean: Float32Array; variance: Float32Array }>;
}

/** Read back with `await data()`: dataSync throws on webgpu under Node. */
export async function fullWeights(net: Network): Promise<FullWeights> {
  const params = new Map<string, Float32Array>();
  const state = net.state();
  const read = async (t: { data(): Promise<unknown> }) => Float32Array.from((await t.data()) as Float32Array);
  if (net.materialized && net.ring) {
    const flat = generateWeights(net.materialized, await read(net.ring));
    for (const l of net.materialized.plan.layers) params.set(l.param.name, flat.slice(l.offset, l.offset + l.size));
  }
  for (const p of net.spec.params) {
    if (params.has(p.name)) continue;
    const v = state.get(p.name);
    if (!v) throw new Error(`parameter ${p.name} has no value`);
    params.set(p.name, await read(v));
  }
  const running = new Map<string, { mean: Float32Array; variance: Float32Array }>();
  for (const [name, r] of net.bnRunning) running.set(name, { mean: await read(r.mean), variance: await read(r.variance) });
  return { params, running };
}
