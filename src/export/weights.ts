// Every parameter of a network as plain float32 arrays, generated kernels included: the
// generated ones through the pure-JS reference `generateWeights` (bit-exact from the ring).
import * as tf from '@tensorflow/tfjs-core';
import type { Network } from '../engines/tfjs/network';
import { addLayerBases, generateWeights } from '../core/rpg/materialize';

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
    const flat = addLayerBases(net.materialized.plan, generateWeights(net.materialized, await read(net.ring)));
    for (const l of net.materialized.plan.layers) params.set(l.param.name, flat.slice(l.offset, l.offset + l.size));
  } else {
    // A baseline network (random subspace, HashedNets): its generated parameters as it computes them.
    const generated = net.generatedWeights();
    for (const [name, t] of generated) params.set(name, await read(t));
    tf.dispose([...generated.values()]);
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
