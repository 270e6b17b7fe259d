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

// ── compare runs: rows built by the host's own compareRow from run records ───────────────────
import { compareRow } from '../../src/extension/panels/compare-rows';
import type { CompareRow } from '../../src/webview-contract';
import type { RunRecord } from '../../src/core/runs/types';

/** Accuracy the fixture's sweeps follow: RPG log-linear in DoF, the baselines a little below, seeds jitter. */
export function fixtureAcc(method: string, dof: number, seed: number): number {
  const base = { rpg: 0.6 + 0.035 * Math.log(dof), subspace: 0.58 + 0.035 * Math.log(dof), hashed: 0.5 + 0.04 * Math.log(dof), width: 0.4 + 0.05 * Math.log(dof), plain: 0.975 }[method] ?? 0.5;
  return Math.min(0.99, base + 0.004 * Math.sin(seed * 7.1 + dof));
}

/**
 * `n` runs: sweeps of LeNet-5 (RPG, subspace, HashedNets at 7 sizes, 3 seeds each, plus the
 * plain model), then single runs of other configs to make up the count.
 */
export function compareRows(n: number): CompareRow[] {
  const rows: CompareRow[] = [];
  const make = (i: number, dir: string, name: string, method: string, dof: number, seed: number, extra: Partial<RunRecord> = {}, cfg: Record<string, unknown> = {}): CompareRow => {
    const acc = fixtureAcc(method, dof, seed);
    const rpg = method === 'plain' || method === 'width' ? { enabled: false } : { enabled: true, dof, sampling: 'ring', generate: 'all', method: method === 'rpg' ? 'ring' : method };
    const config = { name, seed, model: { arch: 'lenet5', width: method === 'width' ? 0.3 : 1 }, rpg, data: { dataset: 'mnist-embedded' }, train: { optimizer: 'adam', lr: 0.001, batchSize: 64, epochs: 8, engine: 'tfjs', backend: 'wasm' }, ...cfg } as unknown as RunRecord['config'];
    const record: RunRecord = {
      runId: `2026-12-01T00-${String(Math.floor(i / 60)).padStart(2, '0')}-${String(i % 60).padStart(2, '0')}-000Z`, name, config, status: 'finished', engine: 'tfjs', backend: 'wasm',
      arch: 'lenet5', dataset: 'mnist-embedded', dof: method === 'plain' ? 44426 : dof, ringSize: method === 'plain' || method === 'width' ? 0 : dof, totalParams: method === 'width' ? dof : 44426,
      startedAt: new Date(Date.UTC(2026, 11, 1, 0, 0, i)).toISOString(), durationSec: 15 + (i % 40), step: 1000, epoch: 8, bestAcc: Math.min(0.995, acc + 0.003), finalAcc: acc, ...extra,
    };
    return compareRow({ runId: record.runId, dir, record, status: record.status, hasCheckpoint: true }, { steps: 1000, trainLoss: 0.1 + (1 - acc), evalLoss: 0.05 + (1 - acc), evalAcc: acc, bestEvalAcc: acc, samplesPerSec: 900 + (i % 100) }, 20_000 + dof * 4);
  };
  let i = 0;
  rows.push(make(i++, '/ws/runs/lenet5-all-sweep/s1/plain/seed1', 'plain', 'plain', 44426, 1));
  for (const method of ['rpg', 'subspace', 'hashed'])
    for (const dof of [100, 200, 300, 500, 1000, 3000, 10000])
      for (const seed of [1, 2, 3]) rows.push(make(i++, `/ws/runs/lenet5-all-sweep/s1/${method === 'rpg' ? 'rpg' : method}-${dof}/seed${seed}`, `${method === 'rpg' ? 'rpg' : method}-${dof}`, method, dof, seed));
  while (rows.length < n) {
    const dof = [220, 441, 1000, 2000, 4419, 10000][i % 6]!;
    rows.push(make(i, `/ws/runs/exp-${i % 37}/r${i}`, `exp-${i % 37}`, i % 9 === 0 ? 'width' : 'rpg', dof, 1 + (i % 5), {}, { train: { optimizer: i % 2 ? 'sgd' : 'adam', lr: [0.1, 0.01, 0.001, 0.0003][i % 4], batchSize: 64, epochs: 5 + (i % 4), engine: 'tfjs', backend: 'wasm' } }));
    i++;
  }
  return rows;
}

/** What the curves panel should show for `series` at `step` (loss, train split): raw and smoothed. */
export function expectedAt(series: RunSeries, step: number, smoothing: number): { loss: number; lossRaw: number } {
  const i = series.train.step.indexOf(step);
  const smoothed = timeWeightedEma(series.train.step, series.train.loss, smoothing);
  return { loss: smoothed[i] as number, lossRaw: series.train.loss[i]! };
}
