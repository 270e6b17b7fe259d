// The GPU benchmark bench/gpu.sh runs (bundled as dist/gpu-bench.js, so a GPU machine needs no
// npm install): training samples/s of ResNet-20 and ResNet-18 (32×32 stem), plain and RPG (ring
// 10%), on webgpu, next to PyTorch CUDA's figures for the same models when gpu.sh measured them.
// Synthetic data, Adam, one step = forward + backward + update + BN statistics, exactly as a
// run's loop takes it (bench/bench-model.ts), the loss read back every step.
//
// Options: --archs resnet20,resnet18  --batch 128  --steps 20  --warmup 3  --backend webgpu
//          --torch-json FILE (pytorch_rpg.py's JSON lines)  --allow-software  --json
import { readFileSync } from 'node:fs';
import * as os from 'node:os';
import * as tf from '@tensorflow/tfjs-core';
import type { BackendName } from '../src/core/config/schema';
import { selectBackend, tfjsVersion } from '../src/engines/tfjs/backend';
import { adapterName, describeAdapter } from '../src/engines/tfjs/webgpu-adapter';
import { Kind, LABEL, makeBench, median, now } from './bench-model';

const argv = process.argv.slice(2);
const value = (name: string, fallback: string) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 && argv[i + 1] !== undefined ? argv[i + 1]! : fallback;
};
const int = (name: string, fallback: number) => {
  const v = Number(value(name, String(fallback)));
  if (!Number.isInteger(v) || v < 0) throw new Error(`--${name} must be a whole number, got ${value(name, '')}`);
  return v;
};

interface Row {
  readonly arch: string;
  readonly kind: Kind;
  readonly samplesPerSec?: number;
  readonly stepMs?: number;
  /** The first step: shader compilation and pipeline creation. */
  readonly firstStepSec?: number;
  readonly tensorsAfterWarmup?: number;
  readonly tensorsAtEnd?: number;
  readonly gpuBytesAfterWarmup?: number;
  readonly gpuBytesAtEnd?: number;
  readonly error?: string;
}

interface TorchRow {
  readonly arch: string;
  readonly kind: string;
  readonly samplesPerSec: number;
  readonly device?: string;
  readonly torch?: string;
}

/** Bytes the backend holds on the device (webgpu reports them; others only numBytes). */
function deviceBytes(): number {
  const m = tf.memory() as tf.MemoryInfo & { numBytesInGPU?: number };
  return m.numBytesInGPU ?? m.numBytes;
}

async function measure(arch: string, kind: Kind, batch: number, steps: number, warmup: number): Promise<Row> {
  const b = makeBench(arch, kind, batch);
  try {
    let t0 = now();
    await b.step();
    const firstStepSec = (now() - t0) / 1000;
    for (let k = 1; k < warmup; k++) await b.step();
    const tensorsAfterWarmup = tf.memory().numTensors;
    const gpuBytesAfterWarmup = deviceBytes();
    const times: number[] = [];
    for (let k = 0; k < steps; k++) {
      t0 = now();
      await b.step();
      times.push(now() - t0);
    }
    const stepMs = median(times);
    return { arch, kind, samplesPerSec: (batch * 1000) / stepMs, stepMs, firstStepSec, tensorsAfterWarmup, tensorsAtEnd: tf.memory().numTensors, gpuBytesAfterWarmup, gpuBytesAtEnd: deviceBytes() };
  } catch (err) {
    // A model that does not fit this GPU is a row of the table, not the end of the benchmark.
    return { arch, kind, error: String((err as Error).message ?? err).split('\n')[0]! };
  } finally {
    b.dispose();
  }
}

function readTorch(file: string): TorchRow[] {
  if (!file) return [];
  try {
    return readFileSync(file, 'utf8').split('\n').filter((l) => l.trim().startsWith('{')).map((l) => JSON.parse(l) as TorchRow);
  } catch {
    return [];
  }
}

const fmt = (n: number | undefined, d = 1) => (n === undefined ? '—' : n.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d }));

async function main(): Promise<number> {
  const archs = value('archs', 'resnet20,resnet18').split(',').filter(Boolean);
  for (const a of archs) if (!LABEL[a]) throw new Error(`--archs: unknown architecture "${a}" (one of ${Object.keys(LABEL).join(', ')})`);
  const batch = int('batch', 128);
  const steps = Math.max(1, int('steps', 20));
  const warmup = Math.max(1, int('warmup', 3));
  const backend = value('backend', 'webgpu') as BackendName;
  const choice = await selectBackend(backend);
  const primary = choice.adapters.find((a) => a.requests.includes('high-performance'));
  if (backend === 'webgpu' && primary?.isFallbackAdapter && !argv.includes('--allow-software')) {
    process.stderr.write(`gpu-bench: the WebGPU adapter is a software one (${adapterName(primary)}): its figures would not be GPU figures. Check the GPU's Vulkan driver (rpg info lists what was found), or pass --allow-software to measure it anyway.\n`);
    return 3;
  }
  const started = new Date();
  const load = os.loadavg();
  const out = (s: string) => process.stdout.write(s + '\n');
  out(`gpu-bench ${started.toISOString().slice(0, 16).replace('T', ' ')} UTC: node ${process.version}, tfjs ${tfjsVersion()}, backend ${choice.name} (${choice.reason}), ${os.cpus()[0]?.model ?? 'unknown CPU'} ×${os.cpus().length}, load ${load.map((l) => l.toFixed(2)).join(' ')}`);
  for (const a of choice.adapters) out(`  adapter: ${describeAdapter(a)}`);
  out(`batch ${batch}, Adam, RPG ring 10% of the generated weights, synthetic data; median of ${steps} steps after ${warmup} warm-up step(s)`);

  const rows: Row[] = [];
  for (const arch of archs) {
    for (const kind of ['plain', 'rpg'] as Kind[]) {
      const r = await measure(arch, kind, batch, steps, warmup);
      rows.push(r);
      out(r.error ? `${LABEL[arch]} ${kind}: ${r.error}` : `${LABEL[arch]} ${kind}: ${fmt(r.samplesPerSec)} samples/s (${fmt(r.stepMs)} ms/step; first step ${fmt(r.firstStepSec, 2)} s; tensors ${r.tensorsAfterWarmup} → ${r.tensorsAtEnd}, device bytes ${r.gpuBytesAfterWarmup} → ${r.gpuBytesAtEnd})`);
    }
  }
  const torch = readTorch(value('torch-json', ''));
  const device = choice.name === 'webgpu' && primary ? `webgpu on ${adapterName(primary)}${primary.isFallbackAdapter ? ' (software adapter)' : ''}` : choice.name;
  const torchDevice = torch[0]?.device ? `PyTorch ${torch[0]?.torch ?? ''} CUDA on ${torch[0].device}` : 'PyTorch CUDA';
  out('');
  out(`| model | kind | ours: ${device} samples/s | step ms | ${torchDevice} samples/s | ours / PyTorch |`);
  out('|---|---|---:|---:|---:|---:|');
  for (const r of rows) {
    const t = torch.find((x) => x.arch === r.arch && x.kind === r.kind);
    const ratio = r.samplesPerSec !== undefined && t ? `${(r.samplesPerSec / t.samplesPerSec).toFixed(2)}×` : '—';
    out(`| ${LABEL[r.arch]} | ${r.kind} | ${r.error ? `failed: ${r.error}` : fmt(r.samplesPerSec)} | ${fmt(r.stepMs)} | ${t ? fmt(t.samplesPerSec) : torch.length ? '—' : 'not measured'} | ${ratio} |`);
  }
  if (argv.includes('--json')) for (const r of rows) out(JSON.stringify({ ...r, backend: choice.name, device, batch }));
  return rows.some((r) => r.error) ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`gpu-bench: ${String((err as Error).message ?? err).split('\n')[0]}\n`);
    process.exit(1);
  },
);
