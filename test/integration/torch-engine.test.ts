// The PyTorch engine against the tfjs engine on real training: LeNet-5 at 10% DoF on the
// embedded digits, the same config in both; and checkpoints written by the torch engine
// evaluated by the tfjs engine (tensor names and layouts are the contract).
//
// Tolerances (measured on the 2-core development machine, stated here): both engines start
// from bitwise-equal weights and batches and run the same maths (down to the max-pool gradient
// reaching every tied maximum), so the first steps agree to float rounding: Adam within 1e-4
// relative over 10 steps (measured 4e-6; Adam's first steps are ±lr whatever the gradient's
// size, so a gradient rounding to the other sign moves a weight by 2·lr), SGD with momentum,
// weight decay and a cosine schedule within 1e-5 over 30 steps (measured 3e-7). Later, rounding
// differences grow as in any training: final test accuracies within 1 point (the bar).
// The tfjs engine evaluates a torch checkpoint to the accuracy torch reported within 0.1 point
// and to its loss within 1e-4.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { validateConfig } from '../../src/core/config/load';
import type { RpgConfig } from '../../src/core/config/schema';
import { readCheckpoint } from '../../src/core/checkpoint/file';
import type { EvalRow, TrainRow } from '../../src/core/train/rows';
import { tfjsEngine } from '../../src/engines/tfjs/engine';
import { train } from '../helpers/train';
import { useBackend } from '../helpers/tf';
import { MNIST_DIGITS, PYTHON, PYTHON_DIR, pythonEnv, torchUnavailable } from '../helpers/torch';

const skip = torchUnavailable();

interface TorchEvent {
  event: string;
  [key: string]: unknown;
}

/** Runs `python -m rpg_torch train --job` and collects its JSON-line events. */
function torchTrain(config: RpgConfig, runDir: string, resume?: string): Promise<{ code: number | null; events: TorchEvent[]; stderr: string }> {
  const jobFile = path.join(path.dirname(runDir), `${path.basename(runDir)}.job.json`);
  writeFileSync(jobFile, JSON.stringify({ config, runDir, device: 'cpu', threads: 1, embeddedMnistDir: MNIST_DIGITS, ...(resume ? { resume } : {}) }));
  return new Promise((resolve) => {
    const child = spawn(PYTHON, ['-m', 'rpg_torch', 'train', '--job', jobFile, '--no-stdin'], { cwd: PYTHON_DIR, env: pythonEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let stderr = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => resolve({ code, stderr, events: out.split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l) as TorchEvent) }));
  });
}

/** The tfjs engine evaluates a torch checkpoint as `rpg eval` does: the core's reader verifies
 * the file, the plan is checked, every tensor is restored by its TypeScript name. */
async function tfjsEvaluates(checkpointFile: string): Promise<{ loss: number; acc: number }> {
  const checkpoint = readCheckpoint(checkpointFile);
  return tfjsEngine.evaluate({ config: validateConfig(checkpoint.meta.config), backend: 'wasm', checkpoint, file: checkpointFile });
}

test('LeNet-5 at 10% DoF: the torch engine trains like the tfjs engine, and tfjs evaluates its checkpoint', { skip, timeout: 30 * 60_000 }, async () => {
  await useBackend('wasm');
  const config = validateConfig({
    name: 'lenet-engines',
    seed: 1,
    model: { arch: 'lenet5' },
    rpg: { dof: '10%' },
    data: { dataset: 'mnist-embedded' },
    train: { optimizer: 'adam', lr: 0.001, batchSize: 64, epochs: 3, backend: 'wasm' },
  });
  const dir = mkdtempSync(path.join(tmpdir(), 'rpg-torch-engine-'));
  const torchRun = torchTrain(config, path.join(dir, 'torch-run')); // on the other core meanwhile
  const tfRows: TrainRow[] = [];
  const tfEvals: EvalRow[] = [];
  const tf = await train({ config, runsDir: path.join(dir, 'tfjs') }, { onTrainRow: (r) => tfRows.push(r), onEval: (e) => tfEvals.push(e) });
  const t = await torchRun;
  assert.equal(t.code, 0, `torch engine failed:\n${t.stderr}\n${JSON.stringify(t.events.filter((e) => e.event === 'error'))}`);

  const rows = t.events.filter((e) => e.event === 'row') as unknown as TrainRow[];
  const evals = t.events.filter((e) => e.event === 'eval') as unknown as EvalRow[];
  assert.deepEqual(rows.map((r) => r.step), tfRows.map((r) => r.step));
  assert.deepEqual(evals.map((e) => e.step), tfEvals.map((e) => e.step));
  for (let i = 0; i < 10; i++) {
    const rel = Math.abs(rows[i]!.loss - tfRows[i]!.loss) / tfRows[i]!.loss;
    assert.ok(rel < 1e-4, `step ${i + 1}: torch loss ${rows[i]!.loss} vs tfjs ${tfRows[i]!.loss} (relative ${rel})`);
  }
  const torchAcc = evals[evals.length - 1]!.acc;
  const tfAcc = tf.finalAcc;
  console.log(`LeNet-5 10% DoF, ${config.train.epochs} epochs: test accuracy torch ${(torchAcc * 100).toFixed(2)}%, tfjs ${(tfAcc * 100).toFixed(2)}%; ` + `first-step loss ${rows[0]!.loss} vs ${tfRows[0]!.loss}`);
  assert.ok(Math.abs(torchAcc - tfAcc) <= 0.01, `final test accuracy: torch ${torchAcc}, tfjs ${tfAcc}`);
  assert.ok(torchAcc > 0.9, `torch reached ${torchAcc}`);

  const ckptFile = t.events.filter((e) => e.event === 'checkpoint').pop()!.path as string;
  const viaTfjs = await tfjsEvaluates(ckptFile);
  assert.ok(Math.abs(viaTfjs.acc - torchAcc) <= 0.001, `tfjs evaluates the torch checkpoint to ${viaTfjs.acc}, torch reported ${torchAcc}`);
  assert.deepEqual(readdirSync(path.join(dir, 'torch-run')), ['checkpoint.bin']);
});

test('SGD with momentum and projected lr normalization: the first 30 steps follow the tfjs engine', { skip, timeout: 20 * 60_000 }, async () => {
  await useBackend('wasm');
  const config = validateConfig({
    name: 'sgd-engines', seed: 2, model: { arch: 'lenet5' }, rpg: { dof: '5%', sampling: 'shuffled' },
    data: { dataset: 'mnist-embedded', trainSize: 1920, testSize: 500 },
    train: { optimizer: 'sgd', lr: 0.05, momentum: 0.9, weightDecay: 0.0005, schedule: 'cosine', batchSize: 64, epochs: 1, backend: 'wasm' },
  });
  const dir = mkdtempSync(path.join(tmpdir(), 'rpg-torch-sgd-'));
  const torchRun = torchTrain(config, path.join(dir, 'torch-run'));
  const tfRows: TrainRow[] = [];
  await train({ config, runsDir: path.join(dir, 'tfjs') }, { onTrainRow: (r) => tfRows.push(r) });
  const t = await torchRun;
  assert.equal(t.code, 0, t.stderr);
  const rows = t.events.filter((e) => e.event === 'row') as unknown as TrainRow[];
  assert.equal(rows.length, 30);
  let worst = 0;
  rows.forEach((r, i) => {
    // Math.cos and Python's math.cos may differ in the last bit: equal as the float32 scalar used.
    assert.equal(Math.fround(r.lr), Math.fround(tfRows[i]!.lr), `step ${r.step}: the cosine schedule`);
    const rel = Math.abs(r.loss - tfRows[i]!.loss) / tfRows[i]!.loss;
    worst = Math.max(worst, rel);
    assert.ok(rel < 1e-5, `step ${r.step}: torch loss ${r.loss} vs tfjs ${tfRows[i]!.loss} (relative ${rel})`);
  });
  console.log(`SGD, 30 steps: largest relative loss difference torch vs tfjs ${worst.toExponential(1)}`);
});

test('torch checkpoints of BatchNorm and plain models evaluate the same in tfjs', { skip, timeout: 20 * 60_000 }, async () => {
  await useBackend('wasm');
  const dir = mkdtempSync(path.join(tmpdir(), 'rpg-torch-ckpt-'));
  for (const [name, model, rpg] of [
    ['resnet20-rpg', { arch: 'resnet20', width: 0.25 }, { dof: '20%', sampling: 'shuffled' }],
    ['resnet18-plain', { arch: 'resnet18', width: 0.125 }, { enabled: false }],
  ] as const) {
    const config = validateConfig({ name, seed: 4, model, rpg, data: { dataset: 'mnist-embedded', trainSize: 512, testSize: 300 }, train: { optimizer: 'sgd', lr: 0.05, batchSize: 64, epochs: 2 } });
    const t = await torchTrain(config, path.join(dir, name));
    assert.equal(t.code, 0, `${name}: ${t.stderr}`);
    const last = t.events.filter((e) => e.event === 'eval').pop() as unknown as EvalRow;
    const ckpt = readCheckpoint(path.join(dir, name, 'checkpoint.bin'));
    assert.equal(ckpt.meta.engine, 'torch');
    assert.ok([...ckpt.tensors.keys()].some((k) => k.endsWith('.running_var')), `${name}: BatchNorm statistics are stored`);
    const viaTfjs = await tfjsEvaluates(path.join(dir, name, 'checkpoint.bin'));
    const rel = Math.abs(viaTfjs.loss - last.loss) / last.loss;
    assert.ok(rel < 1e-4, `${name}: tfjs test loss ${viaTfjs.loss}, torch ${last.loss} (relative ${rel})`);
    assert.ok(Math.abs(viaTfjs.acc - last.acc) <= 0.001, `${name}: tfjs accuracy ${viaTfjs.acc}, torch ${last.acc}`);
  }
});

test('the torch engine resumes a run the tfjs engine stopped, from its checkpoint', { skip, timeout: 20 * 60_000 }, async () => {
  await useBackend('wasm');
  const config = validateConfig({
    name: 'cross-resume', seed: 6, model: { arch: 'lenet5' }, rpg: { dof: 2000 },
    data: { dataset: 'mnist-embedded', trainSize: 640, testSize: 200 },
    train: { optimizer: 'sgd', lr: 0.02, momentum: 0.9, batchSize: 64, epochs: 2, backend: 'wasm' },
  });
  const dir = mkdtempSync(path.join(tmpdir(), 'rpg-torch-resume-'));
  const whole: TrainRow[] = [];
  await train({ config, runsDir: path.join(dir, 'whole') }, { onTrainRow: (r) => whole.push(r) });
  const controller = new AbortController();
  const stopped = await train({ config, runsDir: path.join(dir, 'stopped'), signal: controller.signal }, { onTrainRow: (r) => r.step === 5 && controller.abort() });
  assert.equal(stopped.status, 'stopped');
  const t = await torchTrain(config, path.join(dir, 'torch-continues'), path.join(stopped.runDir, 'checkpoint.bin'));
  assert.equal(t.code, 0, `${t.stderr}\n${JSON.stringify(t.events.filter((e) => e.event !== 'row'))}`);
  const start = t.events.find((e) => e.event === 'start')!;
  assert.equal(start.resumed, true);
  assert.equal(start.startStep, 5);
  const rows = t.events.filter((e) => e.event === 'row') as unknown as TrainRow[];
  assert.deepEqual(rows.map((r) => r.step), whole.slice(5).map((r) => r.step));
  // The restored state (ring, free parameters, momentum buffers) is the tfjs one: the next
  // steps are where the uninterrupted tfjs run went.
  rows.slice(0, 5).forEach((r, i) => {
    const rel = Math.abs(r.loss - whole[5 + i]!.loss) / whole[5 + i]!.loss;
    assert.ok(rel < 1e-5, `step ${r.step}: torch ${r.loss} vs tfjs ${whole[5 + i]!.loss}`);
  });
  assert.ok(t.events.some((e) => e.event === 'log' && String(e.message).includes('checkpoint written by tfjs')));
});
