// The models the benchmarks train, shared by bench/run.ts (`npm run bench`) and
// bench/gpu-bench.ts (bench/gpu.sh on a GPU machine): a config per architecture and kind, a
// synthetic one-batch dataset, and one training step exactly as a run takes it.
import { validateConfig } from '../src/core/config/load';
import { resolveExperiment, ResolvedExperiment } from '../src/core/experiment/resolve';
import type { Architecture } from '../src/core/config/schema';
import { materializePlan } from '../src/core/rpg/materialize';
import { Network } from '../src/engines/tfjs/network';
import { trainLoop } from '../src/engines/tfjs/loop';
import type { Dataset } from '../src/core/data';
import { Optimizer } from '../src/engines/tfjs/optimizer';

export type Kind = 'plain' | 'rpg';
export const INPUTS: Record<string, { height: number; width: number; channels: number; numClasses: number }> = {
  mlp: { height: 28, width: 28, channels: 1, numClasses: 10 },
  lenet5: { height: 28, width: 28, channels: 1, numClasses: 10 },
  resnet20: { height: 32, width: 32, channels: 3, numClasses: 10 },
  resnet18: { height: 32, width: 32, channels: 3, numClasses: 10 },
};
export const LABEL: Record<string, string> = { mlp: 'MLP 784-256-10', lenet5: 'LeNet-5 28×28×1', resnet20: 'ResNet-20 32×32×3', resnet18: 'ResNet-18 (small input) 32×32×3' };

export function resolve(arch: string, kind: Kind, dof: number | string = '10%'): ResolvedExperiment {
  const config = validateConfig({ seed: 1, model: { arch: arch as Architecture, hidden: [256], smallInput: arch === 'resnet18' }, rpg: { enabled: kind === 'rpg', dof }, train: { optimizer: 'adam', lr: 0.001 } });
  return resolveExperiment(config, INPUTS[arch]!);
}

export interface Bench {
  readonly resolved: ResolvedExperiment;
  readonly net: Network;
  readonly optimizer: Optimizer;
  /** One training step through the engine's loop, on the same synthetic batch each time; its loss. */
  step(): Promise<number>;
  dispose(): void;
}

/** A synthetic dataset of exactly one batch (random pixels, labels 0..9): real batching and normalization, no files. */
export function syntheticDataset(inputShape: readonly number[], batch: number): Dataset {
  const [h, w, c] = inputShape as [number, number, number];
  const pixels = new Uint8Array(batch * h * w * c);
  let s = 12345;
  for (let i = 0; i < pixels.length; i++) pixels[i] = (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) >>> 24;
  const split = { pixels, labels: Uint8Array.from({ length: batch }, (_, i) => i % 10), count: batch };
  return { name: 'synthetic', height: h, width: w, channels: c, numClasses: 10, mean: Array(c).fill(0.5), std: Array(c).fill(0.25), train: split, test: split };
}

/** One training step exactly as a run takes it: the engine's trainLoop, one step, no eval or checkpoint. */
export function makeBench(arch: string, kind: Kind, batch: number, dof?: number | string): Bench {
  const resolved = resolve(arch, kind, dof);
  const m = resolved.plan ? materializePlan(resolved.plan) : undefined;
  const net = new Network(resolved.spec, m, 1);
  const optimizer = new Optimizer({ name: 'adam', momentum: 0.9, weightDecay: 0, normalization: 'projected' }, net.variables, m);
  const dataset = syntheticDataset(resolved.spec.inputShape, batch);
  const config = { ...resolved.config, train: { ...resolved.config.train, batchSize: batch } };
  return {
    resolved, net, optimizer,
    async step() {
      let loss = NaN;
      await trainLoop(net, optimizer, dataset, config, { totalSteps: 1, stepsPerEpoch: 1, lr: () => 0.001, evaluate: false, onRow: (row) => (loss = row.loss) });
      return loss;
    },
    dispose() {
      optimizer.dispose();
      net.dispose();
    },
  };
}

export const now = () => performance.now();
export const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
