// Data the fake host sends: real plans and layer weights from the trainer's own functions, and
// synthetic runs (one with 100,000 train rows) for the curves panel.
import { planFor, layerWeightsFor } from '../../src/core/experiment/planning';
import type { LayerWeightsResult, PlanResult } from '../../src/core/experiment/types';
import type { RunSeries } from '../../src/webview-contract';
import { timeWeightedEma } from '../../webview-ui/src/curves/transforms';

const config = (arch: string, dof: string): string =>
  JSON.stringify({ name: `${arch}-${dof.replace('%', 'pct')}`, seed: 1, model: { arch }, rpg: { dof, sampling: 'ring' }, data: { dataset: 'mnist-embedded' } });

export function plans(): { lenet: PlanResult; resnet34: PlanResult } {
  return { lenet: planFor({ text: config('lenet5', '10%') }), resnet34: planFor({ text: config('resnet34', '1%') }) };
}

export async function lenetWeights(layer: string): Promise<LayerWeightsResult> {
  const r = await layerWeightsFor({ text: config('lenet5', '10%'), layer, maxValues: 128 * 128 });
  return { ...r, values: Array.from(r.values) };
}

export function run(name: string, dof: number, rows: number, bestAcc: number, seed = 1, extra: { rpg?: boolean; status?: RunSeries['info']['status'] } = {}): RunSeries {
  const step = Array.from({ length: rows }, (_, i) => i + 1);
  const noise = (i: number): number => Math.sin(i * 12.9898 + seed) * 0.05;
  const evalSteps = step.filter((s) => s % Math.max(1, Math.floor(rows / 20)) === 0);
  return {
    info: { runDir: `/ws/runs/${name}/r${seed}`, runId: `r${seed}`, name, arch: 'lenet5', dataset: 'mnist-embedded', dof, ringSize: dof, status: extra.status ?? 'finished', bestAcc, finalAcc: bestAcc - 0.004, rpg: extra.rpg ?? true },
    train: {
      step, epoch: step.map((s) => s / 125), loss: step.map((s, i) => 2.3 * Math.exp(-s / (rows / 4)) + 0.1 + noise(i)),
      acc: step.map((s, i) => Math.min(1, bestAcc * (1 - Math.exp(-s / (rows / 5))) + noise(i))), lr: step.map((s) => 0.001 * (1 - s / (rows + 1))),
      samplesPerSec: step.map((_, i) => 900 + 50 * Math.sin(i / 40)), time: step.map((s) => s * 0.05),
    },
    eval: { step: evalSteps, epoch: evalSteps.map((s) => s / 125), loss: evalSteps.map((s) => 2.3 * Math.exp(-s / (rows / 4)) + 0.15), acc: evalSteps.map((s) => bestAcc * (1 - Math.exp(-s / (rows / 5)))), time: evalSteps.map((s) => s * 0.05) },
    skipped: 0,
  };
}

/** What the curves panel should show for `series` at `step` (loss, train split): raw and smoothed. */
export function expectedAt(series: RunSeries, step: number, smoothing: number): { loss: number; lossRaw: number } {
  const i = series.train.step.indexOf(step);
  const smoothed = timeWeightedEma(series.train.step, series.train.loss, smoothing);
  return { loss: smoothed[i] as number, lossRaw: series.train.loss[i]! };
}
