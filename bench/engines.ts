// The two engines side by side, as users run them: `npm run bench:engines`.
//
// Each row trains a real run with `rpg train CONFIG --engine tfjs|torch` (the product's CLI, its
// data loading, its loop, its run folder), each engine at its default thread count (all cores),
// and reads throughput from the run's own metrics.jsonl: batch / median step time over the steps
// after a warm-up, so one-off costs (Python import, the wasm compile, the first kernel runs) and
// preemptions by other processes on a shared machine do not skew it. The engines are measured
// in alternating order, twice, and each row keeps its better median: a load spike hits neither
// engine alone.
//
// Prints a table and, per model and kind, a line a script can read:
//   ratio <model> <plain|rpg> tfjs/torch threads=<n>: <x>
// Options: --steps N (per run, default 40)  --out FILE (markdown table; default: print only)
//          --python PY (default $RPG_PYTHON or /usr/bin/python3)
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import * as path from 'node:path';

const REPO = path.resolve(__dirname, '..');
const CLI = path.join(REPO, 'dist', 'cli.js');
const args = process.argv.slice(2);
const option = (name: string): string | undefined => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
};
const STEPS = Number(option('steps') ?? 40);
const WARMUP = Math.min(5, Math.floor(STEPS / 4));
const PYTHON = option('python') ?? process.env.RPG_PYTHON ?? '/usr/bin/python3';
const BATCH = 64;

type Engine = 'tfjs' | 'torch';
interface Model {
  readonly name: string;
  readonly arch: string;
  readonly data: Record<string, unknown>;
  /** Training images: exactly STEPS batches, so a run of one epoch is STEPS steps. */
  readonly input: string;
}

const MODELS: readonly Model[] = [
  { name: 'lenet5', arch: 'lenet5', data: { dataset: 'mnist-embedded' }, input: '28×28 MNIST digits (embedded)' },
  { name: 'resnet20', arch: 'resnet20', data: { dataset: 'fashion-mnist', path: '/usr/share/datasets/fashion-mnist' }, input: '28×28 Fashion-MNIST (Debian dataset-fashion-mnist)' },
];

function config(model: Model, rpg: boolean): Record<string, unknown> {
  return {
    name: `bench-${model.name}-${rpg ? 'rpg' : 'plain'}`,
    seed: 1,
    model: { arch: model.arch },
    rpg: rpg ? { dof: '10%', sampling: 'ring' } : { enabled: false },
    data: { ...model.data, trainSize: STEPS * BATCH, testSize: 256 },
    train: { optimizer: 'adam', lr: 0.001, batchSize: BATCH, epochs: 1 },
  };
}

interface Measured {
  readonly samplesPerSec: number;
  readonly threads: string;
  readonly backend: string;
}

/** Trains one run with the CLI and reads its throughput from metrics.jsonl. */
function measure(engine: Engine, model: Model, rpg: boolean, work: string): Measured | string {
  const file = path.join(work, `${model.name}-${rpg ? 'rpg' : 'plain'}.rpg.json`);
  writeFileSync(file, JSON.stringify(config(model, rpg), null, 2));
  const runs = path.join(work, `runs-${engine}`);
  rmSync(runs, { recursive: true, force: true });
  const cli = ['train', file, '--engine', engine, '--runs', runs, ...(engine === 'torch' ? ['--python', PYTHON] : [])];
  const r = spawnSync(process.execPath, [CLI, ...cli], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' }, timeout: 1_800_000 });
  if (r.status !== 0) return `rpg ${cli.join(' ')} failed: ${(r.stderr || r.stdout).trim().split('\n').slice(-3).join(' / ')}`;
  const runDir = findRun(runs);
  const rows = readFileSync(path.join(runDir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { type: string; step: number; time: number });
  const times = rows.filter((x) => x.type === 'train').sort((a, b) => a.step - b.step).map((x) => x.time);
  const steps = times.slice(WARMUP).map((t, i, all) => (i === 0 ? NaN : t - all[i - 1]!)).filter((d) => Number.isFinite(d) && d > 0);
  if (steps.length < 3) return `too few timed steps in ${runDir}`;
  const record = JSON.parse(readFileSync(path.join(runDir, 'run.json'), 'utf8')) as { backend?: string; device?: string; threads?: number };
  return {
    samplesPerSec: BATCH / median(steps),
    threads: engine === 'torch' ? String(cpus().length) : String(record.threads ?? tfjsThreads()),
    backend: [record.backend, record.device].filter(Boolean).join(' · '),
  };
}

/** The tfjs engine's thread count as `rpg info` reports it (the record may not say). */
let tfjsThreadsCache: string | undefined;
function tfjsThreads(): string {
  if (tfjsThreadsCache) return tfjsThreadsCache;
  const info = spawnSync(process.execPath, [CLI, 'info'], { encoding: 'utf8' }).stdout ?? '';
  const section = info.split(/^engine torch/m)[0] ?? '';
  tfjsThreadsCache = /threads (\d+)/.exec(section)?.[1] ?? '?';
  return tfjsThreadsCache;
}

function findRun(runs: string): string {
  for (const name of readdirSync(runs)) {
    const dir = path.join(runs, name);
    for (const id of readdirSync(dir)) return path.join(dir, id);
  }
  throw new Error(`no run folder under ${runs}`);
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

function main(): void {
  const work = mkdtempSync(path.join(tmpdir(), 'rpg-bench-engines-'));
  const loadStart = loadavg()[0]!;
  const lines: string[] = [];
  const ratios: string[] = [];
  try {
    lines.push('| model | kind | tfjs engine samples/s (threads, backend) | torch engine samples/s (threads, device) | tfjs / torch |', '|---|---|---|---|---|');
    for (const model of MODELS) {
      for (const rpg of [false, true]) {
        const kind = rpg ? 'rpg' : 'plain';
        const best: Partial<Record<Engine, Measured>> = {};
        const errors: string[] = [];
        // Alternate the order between the two rounds (tfjs, torch, torch, tfjs).
        for (const engine of ['tfjs', 'torch', 'torch', 'tfjs'] as const) {
          const m = measure(engine, model, rpg, work);
          if (typeof m === 'string') {
            errors.push(m);
            continue;
          }
          process.stderr.write(`${model.name} ${kind} ${engine}: ${fmt(m.samplesPerSec)} samples/s\n`);
          if (!best[engine] || m.samplesPerSec > best[engine]!.samplesPerSec) best[engine] = m;
        }
        const t = best.tfjs;
        const p = best.torch;
        const cell = (m: Measured | undefined) => (m ? `${fmt(m.samplesPerSec)} (${m.threads}, ${m.backend})` : 'failed');
        lines.push(`| ${model.name} | ${kind} | ${cell(t)} | ${cell(p)} | ${t && p ? `${(t.samplesPerSec / p.samplesPerSec).toFixed(2)}×` : '—'} |`);
        if (t && p) ratios.push(`ratio ${model.name} ${kind} tfjs/torch threads=${t.threads}/${p.threads}: ${(t.samplesPerSec / p.samplesPerSec).toFixed(2)}`);
        for (const e of new Set(errors)) lines.push('', `${model.name} ${kind}: ${e}`);
      }
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  const header = [
    `Engines on CPU (${new Date().toISOString().slice(0, 10)}, ${cpus().length} × ${cpus()[0]?.model ?? 'CPU'}, 1-min load ${loadStart.toFixed(2)} → ${loadavg()[0]!.toFixed(2)}):`,
    `\`rpg train --engine tfjs|torch\` on ${MODELS.map((m) => `${m.name} (${m.input})`).join(', ')}; batch ${BATCH}, Adam, ${STEPS} steps per run,`,
    `throughput = batch / median step time after ${WARMUP} warm-up steps, best of two alternating rounds; RPG = ring of 10% of the generated weights.`,
    '',
  ];
  const out = [...header, ...lines, '', ...ratios].join('\n');
  process.stdout.write(`${out}\n`);
  const file = option('out');
  if (file) writeFileSync(file, `${out}\n`);
}

main();
