// The engine benchmark: `npm run bench` (full, writes bench/RESULTS.md) or
// `node --import tsx bench/run.ts --quick` (tiny sizes, a smoke run for the tests; writes only
// with --out). Every figure is measured in this one process (memory in child processes), RPG
// and plain side by side on the same backend, rounds interleaved so load changes hit both.
//
// Options: --quick  --out FILE  --no-pytorch  --sweep SWEEP.json (adds the sweep and compression
// sections from a finished `rpg sweep`)  --only-sweep (just those two sections)
// --only ARCH[,ARCH] (just those throughput rows and their PyTorch reference, printed, not written)
// --child ARCH KIND BACKEND BATCH STEPS (internal: memory of one model).
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { materializePlan } from '../src/core/rpg/materialize';
import { selectBackend } from '../src/engines/tfjs/backend';
import { encodeCheckpoint, CheckpointMeta } from '../src/core/checkpoint/file';
import { Network } from '../src/engines/tfjs/network';
import { Optimizer } from '../src/engines/tfjs/optimizer';
import { GENERATE_GRAD_KERNEL, GENERATE_KERNEL } from '../src/engines/tfjs/host-generate-kernel';
import { nativeConvStatus } from '../src/engines/tfjs/native-conv';
import { adapterName, describeAdapter, discoverWebGpu } from '../src/engines/tfjs/webgpu-adapter';
import { encodeRpgz } from '../src/core/compress/rpgz';
import { magnitudeMask, quantize } from '../src/core/compress/quantize';
import { compressRun } from '../src/compress';
import type { SweepFile } from '../src/sweep';
import { formatSweep } from '../src/cli/commands/sweep';
import { textPlot } from '../src/core/sweep/plot';
import { plotInput } from '../src/sweep';

const argv = process.argv.slice(2);
const flag = (name: string) => argv.includes(`--${name}`);
const value = (name: string) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : undefined;
};
const QUICK = flag('quick');
const REPO = path.resolve(__dirname, '..');

import { Kind, LABEL, makeBench, median, now, resolve } from './bench-model';

// ---------------------------------------------------------------- child: memory of one model
/** This process's peak RSS. On Linux from /proc (VmHWM): getrusage's maxRSS of a child process
 * starts at its parent's peak at fork time, so a big parent would show in every child. */
function peakRssMB(): number {
  try {
    const kb = /VmHWM:\s*(\d+)\s*kB/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1];
    if (kb) return Number(kb) / 1024;
  } catch {
    /* not Linux */
  }
  return process.resourceUsage().maxRSS / 1024;
}

async function childMemory(): Promise<void> {
  const i = argv.indexOf('--child');
  const [arch, kind, backend, batchS, stepsS] = argv.slice(i + 1);
  await selectBackend(backend as 'wasm' | 'cpu');
  const b = makeBench(arch!, kind as Kind, Number(batchS));
  for (let k = 0; k < Number(stepsS) - 1; k++) await b.step();
  const info = await tf.profile(() => b.step());
  const mem = tf.memory();
  process.stdout.write(JSON.stringify({ maxRssMB: peakRssMB(), peakBytes: info.peakBytes, persistentBytes: mem.numBytes, numTensors: mem.numTensors }) + '\n');
  b.dispose();
}

// ---------------------------------------------------------------- measurements
interface ThroughputRow {
  arch: string;
  backend: string;
  batch: number;
  steps: number;
  plain: number;
  rpg: number;
  params: number;
  ringSize: number;
  genFwdMs: number;
  genFwdBwdMs: number;
  rpgStepMs: number;
  /** Samples per CPU-second of this process (medians of per-step process.cpuUsage): less load-dependent than wall time. */
  plainCpu: number;
  rpgCpu: number;
}

async function throughput(arch: string, backend: string, batch: number, steps: number, warmup: number, rounds: number, log: (s: string) => void): Promise<ThroughputRow> {
  await selectBackend(backend as 'wasm' | 'cpu' | 'webgpu');
  // Per-step times; the median is robust to the preemptions of a shared machine.
  const times: Record<Kind, number[]> = { plain: [], rpg: [] };
  const cpuTimes: Record<Kind, number[]> = { plain: [], rpg: [] };
  let genFwdMs = 0;
  let genFwdBwdMs = 0;
  let params = 0;
  let ringSize = 0;
  for (let r = 0; r < rounds; r++) {
    for (const kind of (r % 2 ? ['rpg', 'plain'] : ['plain', 'rpg']) as Kind[]) {
      const b = makeBench(arch, kind, batch);
      params = b.resolved.summary.totalParams;
      for (let k = 0; k < warmup; k++) await b.step();
      for (let k = 0; k < steps; k++) {
        const t0 = now();
        const c0 = process.cpuUsage();
        await b.step();
        times[kind].push(now() - t0);
        const c = process.cpuUsage(c0);
        cpuTimes[kind].push((c.user + c.system) / 1000);
      }
      // (On webgpu tf.profile times kernels only where the adapter has timestamp queries, and its
      // 15+ extra steps would take minutes on a software adapter: no generation cost there.)
      if (kind === 'rpg') ringSize = b.resolved.plan!.ringSize;
      if (kind === 'rpg' && r === 0 && backend !== 'webgpu') {
        // Generation inside real training steps: the kernel times tf.profile records for the
        // generation kernel and its ring-gradient kernel (the host kernels on cpu/wasm).
        const reps = QUICK ? 2 : Math.max(3, Math.min(30, Math.round(4e6 / b.resolved.plan!.generatedCount)));
        const fwd: number[] = [];
        const bwd: number[] = [];
        for (let k = 0; k < reps; k++) {
          const info = await tf.profile(() => b.step());
          let f = 0;
          let g = 0;
          for (const kernel of info.kernels) {
            const ms = await kernel.kernelTimeMs;
            if (typeof ms !== 'number') continue;
            if (kernel.name === GENERATE_KERNEL) f += ms;
            if (kernel.name === GENERATE_GRAD_KERNEL) g += ms;
          }
          fwd.push(f);
          bwd.push(g);
        }
        genFwdMs = median(fwd);
        genFwdBwdMs = median(fwd.map((f, k) => f + bwd[k]!));
      }
      b.dispose();
    }
  }
  const plainMs = median(times.plain);
  const rpgMs = median(times.rpg);
  const row = { arch, backend, batch, steps: steps * rounds, plain: (batch * 1000) / plainMs, rpg: (batch * 1000) / rpgMs, params, ringSize, genFwdMs, genFwdBwdMs, rpgStepMs: rpgMs, plainCpu: (batch * 1000) / median(cpuTimes.plain), rpgCpu: (batch * 1000) / median(cpuTimes.rpg) };
  log(`${LABEL[arch]} on ${backend}: plain ${row.plain.toFixed(1)} samples/s, RPG ${row.rpg.toFixed(1)} samples/s (step time ratio ${(row.plain / row.rpg).toFixed(3)}), generation ${genFwdMs.toFixed(2)} ms fwd / ${genFwdBwdMs.toFixed(2)} ms fwd+bwd`);
  return row;
}

interface MemRow {
  arch: string;
  kind: Kind;
  maxRssMB: number;
  peakBytes: number;
  persistentBytes: number;
}

function memory(arch: string, kind: Kind, backend: string, batch: number, steps: number): MemRow {
  const out = execFileSync(process.execPath, ['--import', 'tsx', __filename, '--child', arch, kind, backend, String(batch), String(steps)], { cwd: REPO, encoding: 'utf8', timeout: 600_000 });
  const r = JSON.parse(out.trim().split('\n').pop()!) as Omit<MemRow, 'arch' | 'kind'>;
  return { arch, kind, ...r };
}

interface LeakRow {
  backend: string;
  steps: number;
  batch: number;
  tensorsAt10: number;
  bytesAt10: number;
  tensorsEnd: number;
  bytesEnd: number;
  min: number;
  max: number;
  tensorsAfterDispose: number;
  /** webgpu: bytes of the device's buffers after step 10 and at the end (tf.memory().numBytesInGPU). */
  gpuBytesAt10?: number;
  gpuBytesEnd?: number;
  gpuBytesMin?: number;
  gpuBytesMax?: number;
}

async function leakCheck(steps: number, batch: number, backend: 'wasm' | 'webgpu' = 'wasm'): Promise<LeakRow> {
  await selectBackend(backend);
  const gpuBytes = () => (tf.memory() as tf.MemoryInfo & { numBytesInGPU?: number }).numBytesInGPU;
  let gpuBytesAt10: number | undefined;
  let gpuMin = Infinity;
  let gpuMax = 0;
  const start = tf.memory().numTensors;
  const b = makeBench('lenet5', 'rpg', batch);
  let tensorsAt10 = 0;
  let bytesAt10 = 0;
  let min = Infinity;
  let max = 0;
  for (let k = 1; k <= steps; k++) {
    await b.step();
    const m = tf.memory();
    if (k === Math.min(10, steps)) {
      tensorsAt10 = m.numTensors;
      bytesAt10 = m.numBytes;
      gpuBytesAt10 = gpuBytes();
    }
    if (k >= Math.min(10, steps)) {
      min = Math.min(min, m.numTensors);
      max = Math.max(max, m.numTensors);
      const g = gpuBytes();
      if (g !== undefined) {
        gpuMin = Math.min(gpuMin, g);
        gpuMax = Math.max(gpuMax, g);
      }
    }
  }
  const end = tf.memory();
  const gpuEnd = gpuBytes();
  b.dispose();
  const after = tf.memory();
  const gpu = gpuBytesAt10 !== undefined && gpuEnd !== undefined ? { gpuBytesAt10, gpuBytesEnd: gpuEnd, gpuBytesMin: gpuMin, gpuBytesMax: gpuMax } : {};
  return { backend, steps, batch, tensorsAt10, bytesAt10, tensorsEnd: end.numTensors, bytesEnd: end.numBytes, min, max, tensorsAfterDispose: after.numTensors - start, ...gpu };
}

async function checkpointSizes(dofs: number[]): Promise<{ label: string; ringSize: number; dof: number; ckptBytes: number; rpgzBytes: number | null }[]> {
  await selectBackend('cpu');
  const rows = [];
  for (const d of [...dofs, 0]) {
    const kind: Kind = d ? 'rpg' : 'plain';
    const resolved = resolve('lenet5', kind, d || undefined);
    const m = resolved.plan ? materializePlan(resolved.plan) : undefined;
    const net = new Network(resolved.spec, m, 1);
    const opt = new Optimizer({ name: 'adam', momentum: 0.9, weightDecay: 0, normalization: 'projected' }, net.variables, m);
    const meta = { formatVersion: 1, step: 0, epoch: 0, batchInEpoch: 0, seed: 1, planHash: resolved.plan?.hash ?? null, planContentHash: m?.contentHash ?? null, ringSize: d, backend: 'cpu', optimizerStep: 0, bestAcc: 0, lastAcc: 0, elapsedSec: 0, config: resolved.config, savedAt: new Date().toISOString() } as CheckpointMeta;
    const tensors = new Map([...net.state(), ...opt.state()].map(([n, v]) => [n, { shape: v.shape, values: v.dataSync() as Float32Array }]));
    const ckptBytes = encodeCheckpoint(meta, tensors).length;
    let rpgzBytes: number | null = null;
    if (m && net.ring) {
      const ring = net.ring.dataSync() as Float32Array;
      const mask = magnitudeMask(ring, 0);
      const q = quantize(ring, mask, 8);
      const free = [...net.state()].filter(([n]) => n !== 'ring').map(([name, v]) => ({ name, shape: v.shape, values: v.dataSync() as Float32Array }));
      rpgzBytes = encodeRpgz({ config: resolved.config, seed: 1, planHash: resolved.plan!.hash, planContentHash: m.contentHash, ringSize: d, bits: 8, block: q.block, mask, scales: q.scales, codes: q.codes, freeBits: 32, tensors: free }).bytes.length;
    }
    rows.push({ label: d ? `RPG M=${d.toLocaleString('en-US')}` : 'plain', ringSize: d, dof: resolved.summary.dof, ckptBytes, rpgzBytes });
    opt.dispose();
    net.dispose();
  }
  return rows;
}

function pytorch(threads: number, steps: number, batch: number, archs?: string[]): { arch: string; kind: string; samplesPerSec: number; cpuSamplesPerSec: number; torch: string }[] | string {
  const probe = spawnSync('/usr/bin/python3', ['-c', 'import torch'], { encoding: 'utf8' });
  if (probe.status !== 0) return 'PyTorch is not importable by /usr/bin/python3 (Debian: `apt-get install -y python3-torch`); skipped';
  const r = spawnSync('/usr/bin/python3', [path.join(REPO, 'bench', 'pytorch_rpg.py'), '--threads', String(threads), '--steps', String(steps), '--batch', String(batch), ...(archs ? ['--archs', archs.join(',')] : [])], { encoding: 'utf8', timeout: 900_000 });
  if (r.status !== 0) return `the PyTorch script failed: ${r.stderr.split('\n').slice(-3).join(' ')}`;
  return r.stdout.trim().split('\n').map((l) => JSON.parse(l));
}

// ---------------------------------------------------------------- report
const fmt = (n: number, d = 1) => n.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d });
const kib = (n: number) => `${fmt(n / 1024, 1)} KiB`;
const mib = (n: number) => `${fmt(n / (1 << 20), 1)} MiB`;

const MY_SECTIONS = ['Training engine: setup', 'Step throughput', 'Ring generation cost', 'Memory', 'Tensor leaks', 'Checkpoint size vs DoF', 'PyTorch reference', 'LeNet-5 DoF sweep', 'Compression of the ring'];

/**
 * Replaces the sections `mine` holds (by title) where they stand in `file`, appends new ones
 * after the last section of ours, and keeps every other section (Language server, Webviews, …)
 * as it is.
 */
function mergeResults(file: string, mine: string): string {
  const old = existsSync(file) ? readFileSync(file, 'utf8') : '# Benchmark results\n';
  const split = (text: string) => text.split(/^(?=## )/m);
  const titleOf = (section: string) => section.split('\n', 1)[0]!.slice(3).trim();
  const parts = split(old);
  const head = parts[0]!.trim() || '# Benchmark results';
  const sections = parts.slice(1).map((p) => p.trim());
  const fresh = split(mine.trim()).filter((p) => p.startsWith('## ')).map((p) => p.trim());
  for (const f of fresh) {
    const at = sections.findIndex((p) => titleOf(p) === titleOf(f));
    if (at >= 0) {
      sections[at] = f;
      continue;
    }
    let lastOurs = -1;
    sections.forEach((p, i) => {
      if (MY_SECTIONS.includes(titleOf(p))) lastOurs = i;
    });
    sections.splice(lastOurs + 1, 0, f);
  }
  return `${head}\n\n${sections.join('\n\n')}\n`;
}

async function main(): Promise<void> {
  // This bench compares one thread with one thread (PyTorch's first column): the oneDNN kernels
  // would otherwise take every core. `npm run bench:versus` measures all cores.
  process.env['RPG_THREADS'] ??= '1';
  if (argv.includes('--child')) return childMemory();
  const lines: string[] = [];
  const log = (s: string) => process.stdout.write(s + '\n');
  if (flag('only-sweep')) {
    // Refresh only the sweep and compression sections (e.g. once a long sweep has finished).
    const file = value('sweep');
    if (!file) throw new Error('--only-sweep needs --sweep SWEEP.json');
    await selectBackend('wasm');
    const md = (await sweepSections(file, log)).join('\n');
    const outFile = value('out') ?? path.join(REPO, 'bench', 'RESULTS.md');
    writeFileSync(outFile, mergeResults(outFile, md));
    log(md + `\n\nwrote ${outFile}`);
    return;
  }
  const loadStart = os.loadavg();
  const started = new Date();
  const batch = QUICK ? 8 : 64;
  const plan: [string, string, number, number, number][] = QUICK
    ? [['mlp', 'wasm', 2, 1, 1], ['lenet5', 'wasm', 1, 1, 1], ['mlp', 'cpu', 1, 0, 1]]
    : [['mlp', 'wasm', 40, 3, 4], ['lenet5', 'wasm', 20, 3, 4], ['resnet20', 'wasm', 6, 2, 2], ['resnet18', 'wasm', 2, 1, 1], ['mlp', 'cpu', 10, 2, 2], ['lenet5', 'cpu', 3, 1, 2]];
  // webgpu rows wherever an adapter exists (a GPU, or the software one of setup:software-gpu:
  // its rows check the GPU code path, they are not GPU speed).
  const gpu = await discoverWebGpu();
  const gpuLabel = gpu.primary ? `webgpu${gpu.primary.isFallbackAdapter ? ' (software adapter)' : ''}` : undefined;
  if (gpu.primary) plan.push(...((QUICK ? [['mlp', 'webgpu', 1, 1, 1]] : [['mlp', 'webgpu', 20, 3, 2], ['lenet5', 'webgpu', 10, 3, 2], ['resnet20', 'webgpu', 3, 2, 1]]) as [string, string, number, number, number][]));
  else log(`webgpu: no rows (${gpu.problem})`);
  log(`benchmark (${QUICK ? 'quick' : 'full'}): batch ${batch}, load average ${loadStart.map((l) => l.toFixed(2)).join(' ')}`);
  const only = value('only')?.split(',');
  const rows: ThroughputRow[] = [];
  for (const [arch, backend, steps, warmup, rounds] of plan) if (!only || only.includes(arch)) rows.push(await throughput(arch, backend, batch, steps, warmup, rounds, log));
  if (only) return onlyRows(only, rows, batch, loadStart, log);

  const memRows: MemRow[] = [];
  for (const arch of QUICK ? ['mlp'] : ['mlp', 'lenet5', 'resnet20', 'resnet18']) {
    for (const kind of (QUICK ? ['rpg'] : ['plain', 'rpg']) as Kind[]) {
      const r = memory(arch, kind, 'wasm', batch, QUICK ? 1 : arch === 'resnet18' ? 2 : 3);
      memRows.push(r);
      log(`memory ${LABEL[arch]} ${kind}: max RSS ${fmt(r.maxRssMB)} MB, tfjs peak ${mib(r.peakBytes)}, persistent ${mib(r.persistentBytes)}`);
    }
  }
  const leaks = [await leakCheck(QUICK ? 20 : 1000, QUICK ? 4 : 16)];
  if (gpu.primary) leaks.push(await leakCheck(QUICK ? 20 : 1000, QUICK ? 4 : 16, 'webgpu'));
  for (const leak of leaks) log(`leaks: ${leak.steps} LeNet-5 RPG steps on ${leak.backend}: ${leak.tensorsAt10} tensors after step 10, ${leak.tensorsEnd} at the end (range ${leak.min}–${leak.max})${leak.gpuBytesAt10 !== undefined ? `; GPU bytes ${leak.gpuBytesAt10} after step 10, ${leak.gpuBytesMin}–${leak.gpuBytesMax} after, ${leak.gpuBytesEnd} at the end` : ''}`);
  const ckpt = await checkpointSizes(QUICK ? [441, 4419] : [220, 441, 1000, 4419, 10000, 44190]);
  for (const c of ckpt) log(`checkpoint ${c.label}: ${kib(c.ckptBytes)}${c.rpgzBytes ? `, .rpgz 8-bit ${kib(c.rpgzBytes)}` : ''}`);
  const torch1 = flag('no-pytorch') || QUICK ? 'skipped (--quick or --no-pytorch)' : pytorch(1, 20, batch);
  const torch2 = flag('no-pytorch') || QUICK ? 'skipped' : pytorch(2, 20, batch);
  if (typeof torch1 !== 'string') for (const t of torch1) log(`PyTorch ${t.torch} 1 thread ${t.arch} ${t.kind}: ${fmt(t.samplesPerSec)} samples/s`);
  else log(`PyTorch: ${torch1}`);
  const loadEnd = os.loadavg();

  // ---- markdown
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  lines.push('## Training engine: setup', '');
  lines.push(`Measured ${started.toISOString().slice(0, 16).replace('T', ' ')} UTC by \`${QUICK ? 'node --import tsx bench/run.ts --quick' : 'npm run bench'}\` on ${cpu}, ${os.cpus().length} cores visible, ${fmt(os.totalmem() / 2 ** 30, 1)} GiB RAM, Node ${process.version}, ${os.platform()} ${os.release()}, tfjs ${tf.version_core} (backends: wasm = WebAssembly SIMD, 1 thread, ${nativeConvStatus().detail}; cpu = pure JS${gpu.primary ? `; webgpu = Dawn on ${adapterName(gpu.primary)}${gpu.primary.isFallbackAdapter ? ', a software adapter' : ''}` : ''}).`);
  lines.push(`1-min load average ${loadStart[0]!.toFixed(2)} at the start and ${loadEnd[0]!.toFixed(2)} at the end (other engineers share these 2 cores: absolute numbers are noisy, the RPG/plain ratios are measured in interleaved rounds so load changes hit both). Throughput = batch / median step time (per-step times, so preemptions by other processes do not skew it). Synthetic data, batch ${batch}, Adam, RPG ring = 10% of the generated weights ("ring" sampling), training step = forward + backward + update + BN running stats, as the engine's training loop (src/engines/tfjs/loop.ts) takes it.`, '');
  lines.push('## Step throughput', '');
  lines.push('| model | backend | params | ring M | plain samples/s | RPG samples/s | RPG step time / plain | steps timed (each) |', '|---|---|---:|---:|---:|---:|---:|---:|');
  const backendLabel = (b: string) => (b === 'webgpu' && gpuLabel ? gpuLabel : b);
  for (const r of rows) lines.push(`| ${LABEL[r.arch]} | ${backendLabel(r.backend)} | ${r.params.toLocaleString('en-US')} | ${r.ringSize.toLocaleString('en-US')} | ${fmt(r.plain)} | ${fmt(r.rpg)} | ${(r.plain / r.rpg).toFixed(3)}× | ${r.steps} |`);
  const cpuRows = rows.filter((r) => r.backend !== 'webgpu');
  const worst = Math.max(...cpuRows.map((r) => r.plain / r.rpg));
  lines.push('', `Target: RPG step time ≤ 1.15× plain on the same backend — worst ratio here ${worst.toFixed(3)}× on cpu/wasm (${worst <= 1.15 ? 'met' : 'not met'}).`);
  if (gpu.primary) lines.push('', `webgpu: ${describeAdapter(gpu.primary)}. ${gpu.primary.isFallbackAdapter ? "A software adapter (Mesa's lavapipe on these 2 CPU cores): its rows show the GPU code path runs, not what a GPU does; bench/gpu.sh measures real GPUs." : 'A real GPU adapter.'}`);
  lines.push('');
  lines.push('## Ring generation cost', '');
  lines.push(`Time a training step spends generating every generated kernel from the ring (the host-memory generation kernel on cpu/wasm: gather · sign·scale straight into each layer's tensor) and computing the ring gradient (its scatter-add kernel), as tf.profile records them inside real RPG training steps (medians); share = (forward + gradient) / RPG training step.`, '');
  lines.push('| model | backend | generated N | forward ms | forward + gradient ms | RPG step ms | share of step |', '|---|---|---:|---:|---:|---:|---:|');
  for (const r of rows) {
    if (r.backend === 'webgpu') continue; // not profiled there (see throughput())
    const n = resolve(r.arch, 'rpg').plan!.generatedCount;
    lines.push(`| ${LABEL[r.arch]} | ${r.backend} | ${n.toLocaleString('en-US')} | ${r.genFwdMs.toFixed(3)} | ${r.genFwdBwdMs.toFixed(3)} | ${r.rpgStepMs.toFixed(1)} | ${((100 * r.genFwdBwdMs) / r.rpgStepMs).toFixed(2)}% |`);
  }
  lines.push('', '## Memory', '');
  lines.push(`One child process per model and kind (wasm, batch ${batch}): max RSS of the process, tfjs peak tensor bytes during one training step (tf.profile), and persistent tensor bytes after it (variables, Adam state, plan tensors).`, '');
  lines.push('| model | kind | max RSS | tfjs peak during a step | tfjs persistent |', '|---|---|---:|---:|---:|');
  for (const r of memRows) lines.push(`| ${LABEL[r.arch]} | ${r.kind} | ${fmt(r.maxRssMB, 0)} MB | ${mib(r.peakBytes)} | ${mib(r.persistentBytes)} |`);
  lines.push('', '## Tensor leaks', '');
  for (const leak of leaks) {
    const on = leak.backend === 'webgpu' ? gpuLabel : leak.backend;
    const gpuBytes = leak.gpuBytesAt10 !== undefined ? ` Device buffers: ${kib(leak.gpuBytesAt10)} after step 10, ${leak.gpuBytesMin === leak.gpuBytesMax && leak.gpuBytesMax === leak.gpuBytesAt10 ? 'the same' : `NOT the same (${kib(leak.gpuBytesMin!)}–${kib(leak.gpuBytesMax!)})`} at every later step.` : '';
    lines.push(`${leak.steps} training steps of RPG LeNet-5 on ${on} (batch ${leak.batch}): ${leak.tensorsAt10} live tensors (${kib(leak.bytesAt10)}) after step 10, ${leak.tensorsAt10 === leak.tensorsEnd && leak.min === leak.max ? 'the same' : 'NOT the same'} at every later step (range ${leak.min}–${leak.max}); ${leak.tensorsEnd} after the last step; after disposing the network, optimizer and batch, ${leak.tensorsAfterDispose ? `${leak.tensorsAfterDispose} more tensors are alive than before it was built (a per-construction leak)` : 'no tensor of it is left alive'}.${gpuBytes}`, '');
  }
  lines.push('## Checkpoint size vs DoF', '');
  lines.push('LeNet-5 (44,190 generated weights + 236 free biases), checkpoint = ring + free parameters + Adam m and v (float32), as a run writes it; `.rpgz` = 8-bit ring, float32 free parameters, no pruning.', '');
  lines.push('| model | trained DoF | checkpoint.bin | .rpgz (8-bit) |', '|---|---:|---:|---:|');
  for (const c of ckpt) lines.push(`| ${c.label} | ${c.dof.toLocaleString('en-US')} | ${kib(c.ckptBytes)} | ${c.rpgzBytes ? kib(c.rpgzBytes) : '—'} |`);
  lines.push('', '## PyTorch reference', '');
  if (typeof torch1 === 'string') lines.push(torch1);
  else {
    const ours = (arch: string, kind: Kind | 'plainCpu' | 'rpgCpu') => rows.find((r) => r.arch === arch && r.backend === 'wasm')?.[kind];
    lines.push(`\`bench/pytorch_rpg.py\` (PyTorch ${torch1[0]?.torch}, Debian \`python3-torch\`, CPU): the same LeNet-5 and ResNet-20 (option-A shortcuts), plain and RPG (ring 10%, gather · sign·scale), batch ${batch}, Adam, synthetic data. Ours: tfjs wasm, 1 thread, ${nativeConvStatus().detail}. Ratio = ours / PyTorch at the same thread count (1), in samples per wall-clock second and per CPU-second of each process (the latter less sensitive to the other jobs on these cores).`, '');
    lines.push('| model | kind | ours (wasm, 1 thread) | PyTorch 1 thread | ratio | PyTorch 2 threads | ratio by CPU time |', '|---|---|---:|---:|---:|---:|---:|');
    for (const t of torch1) {
      const o = ours(t.arch, t.kind as Kind);
      const oc = ours(t.arch, t.kind === 'rpg' ? 'rpgCpu' : 'plainCpu');
      const t2 = typeof torch2 === 'string' ? undefined : torch2.find((x) => x.arch === t.arch && x.kind === t.kind);
      lines.push(`| ${LABEL[t.arch]} | ${t.kind} | ${o ? fmt(o) : '—'} | ${fmt(t.samplesPerSec)} | ${o ? (o / t.samplesPerSec).toFixed(2) : '—'}× | ${t2 ? fmt(t2.samplesPerSec) : '—'} | ${oc ? (oc / t.cpuSamplesPerSec).toFixed(2) : '—'}× |`);
    }
    lines.push('', 'Target: ours ≥ 0.5× PyTorch on ResNet-20 32×32 and LeNet-5 28×28 (see the ratios).');
  }
  const sweepFile = value('sweep');
  if (sweepFile) lines.push('', ...(await sweepSections(sweepFile, log)));
  const md = lines.join('\n');
  log('\n' + md);
  const outFile = value('out') ?? (QUICK ? undefined : path.join(REPO, 'bench', 'RESULTS.md'));
  if (outFile) {
    writeFileSync(outFile, mergeResults(outFile, md));
    log(`\nwrote ${outFile}`);
  }
}

/**
 * `--only ARCH[,ARCH]`: just those architectures' throughput rows and their PyTorch reference,
 * printed as table rows (RESULTS.md is left alone: its tables hold every architecture).
 */
function onlyRows(only: string[], rows: ThroughputRow[], batch: number, loadStart: number[], log: (s: string) => void): void {
  const archs = only.filter((a) => a === 'lenet5' || a === 'resnet20');
  const torch1 = flag('no-pytorch') || !archs.length ? 'skipped' : pytorch(1, 20, batch, archs);
  const torch2 = flag('no-pytorch') || !archs.length ? 'skipped' : pytorch(2, 20, batch, archs);
  const out = [`load average ${loadStart[0]!.toFixed(2)} at the start, ${os.loadavg()[0]!.toFixed(2)} at the end; batch ${batch}; last column of the PyTorch rows: ratio in samples per CPU-second`, ''];
  for (const r of rows) out.push(`| ${LABEL[r.arch]} | ${r.backend} | ${r.params.toLocaleString('en-US')} | ${r.ringSize.toLocaleString('en-US')} | ${fmt(r.plain)} | ${fmt(r.rpg)} | ${(r.plain / r.rpg).toFixed(3)}× | ${r.steps} |`);
  out.push('');
  for (const r of rows) out.push(`| ${LABEL[r.arch]} | ${r.backend} | ${resolve(r.arch, 'rpg').plan!.generatedCount.toLocaleString('en-US')} | ${r.genFwdMs.toFixed(3)} | ${r.genFwdBwdMs.toFixed(3)} | ${r.rpgStepMs.toFixed(1)} | ${((100 * r.genFwdBwdMs) / r.rpgStepMs).toFixed(2)}% |`);
  if (typeof torch1 !== 'string') {
    out.push('');
    for (const t of torch1) {
      const o = rows.find((r) => r.arch === t.arch && r.backend === 'wasm')?.[t.kind as Kind];
      const t2 = typeof torch2 === 'string' ? undefined : torch2.find((x) => x.arch === t.arch && x.kind === t.kind);
      const oc = rows.find((r) => r.arch === t.arch && r.backend === 'wasm')?.[t.kind === 'rpg' ? 'rpgCpu' : 'plainCpu'];
      out.push(`| ${LABEL[t.arch]} | ${t.kind} | ${o ? fmt(o) : '—'} | ${fmt(t.samplesPerSec)} | ${o ? (o / t.samplesPerSec).toFixed(2) : '—'}× | ${t2 ? fmt(t2.samplesPerSec) : '—'} | ${oc ? (oc / t.cpuSamplesPerSec).toFixed(2) : '—'}× |`);
    }
  } else log(`PyTorch: ${torch1}`);
  log('\n' + out.join('\n'));
}

/** The recorded sweep (table, fit, plot) and compression of its RPG runs. */
async function sweepSections(file: string, log: (s: string) => void): Promise<string[]> {
  const s = JSON.parse(readFileSync(file, 'utf8')) as SweepFile;
  const out = ['## LeNet-5 DoF sweep', ''];
  out.push(`\`rpg sweep bench/lenet5-sweep.rpg.json --dof ${s.points.filter((p) => p.kind === 'rpg').map((p) => p.dof).join(',')}${s.points.some((p) => p.kind !== 'rpg') ? ' --baselines' : ''}\`: ${s.arch} on ${s.dataset} (8,000 train / 2,000 test), ${s.epochs} epochs each, backend ${s.backend}, ${s.status} in ${fmt(s.durationSec / 60, 1)} min (wall clock, shared machine).`, '');
  out.push('```', formatSweep(s), '', textPlot(plotInput(s)), '```', '');
  // Compression of three of the sweep's RPG runs.
  out.push('## Compression of the ring', '');
  const plainNote = s.reference ? `${s.reference.params.toLocaleString('en-US')} × 4 B = ${kib(s.reference.params * 4)}` : 'parameters × 4 B';
  out.push(`\`rpg compress\` on the sweep's RPG runs (same backend): accuracy before, after pruning (float32), and of the model decoded from the written \`.rpgz\`; sizes of the file, of its information (bits·kept/8 + free parameters), and the plain model's float32 weights (${plainNote}) divided by the file size.`, '');
  out.push('| ring M | prune | bits | block | fine-tune | before | pruned | compressed | .rpgz | information | plain float32 / .rpgz |', '|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  const settings: [number, number, number | undefined, number][] = [[0, 8, undefined, 0], [0.5, 8, undefined, 0], [0.5, 4, 256, 0], [0.5, 4, 256, 200], [0.8, 4, 256, 200]];
  for (const p of s.points.filter((q) => q.kind === 'rpg' && [1000, 4419, 10000].includes(q.dof))) {
    for (const [prune, bits, block, finetune] of settings) {
      const r = await compressRun({ runDir: p.runDir, prune, bits, ...(block ? { block } : {}), finetune, out: path.join(os.tmpdir(), `bench-${p.dof}-${prune}-${bits}-${finetune}.rpgz`) });
      log(`compress M=${p.dof} prune ${prune} bits ${bits}: ${(r.before.acc * 100).toFixed(2)}% → ${(r.after.acc * 100).toFixed(2)}%, ${r.sizes.total} B`);
      out.push(`| ${p.dof.toLocaleString('en-US')} | ${prune * 100}% | ${bits} | ${block ?? 'ring'} | ${finetune || '—'} | ${(r.before.acc * 100).toFixed(2)}% | ${(r.pruned.acc * 100).toFixed(2)}% | ${(r.after.acc * 100).toFixed(2)}% | ${kib(r.sizes.total)} | ${kib(r.infoBytes)} | ${(r.plainBytes / r.sizes.total).toFixed(1)}× |`);
    }
  }
  return out;
}

main().catch((err) => {
  process.stderr.write(`bench: ${(err as Error).stack ?? String(err)}\n`);
  process.exitCode = 1;
});
