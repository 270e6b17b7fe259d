// Where a training step spends its CPU time, kernel by kernel: every engine kernel call is
// wrapped with process.cpuUsage (exclusive time: nested kernels are subtracted), a few steps are
// run as the training loop takes them, and the totals are printed by kernel, by category and by shape.
// usage: [CLOCK=wall] node --import tsx bench/kernel-profile.ts [ARCH=resnet20] [plain|rpg] [BATCH=64] [STEPS=3] [TOP=30]
import * as tf from '@tensorflow/tfjs-core';
import { validateConfig } from '../src/core/config/load';
import type { Architecture } from '../src/core/config/schema';
import { resolveExperiment } from '../src/core/experiment/resolve';
import { materializePlan } from '../src/core/rpg/materialize';
import { selectBackend } from '../src/engines/tfjs/backend';
import { Network } from '../src/engines/tfjs/network';
import { Optimizer } from '../src/engines/tfjs/optimizer';
import { trainStep } from '../src/engines/tfjs/step';
import { NATIVE_BATCH_NORM_KERNELS, NATIVE_CONV_KERNELS, NATIVE_RELU_KERNELS } from '../src/engines/tfjs/native-conv';

const [arch = 'resnet20', kind = 'plain', batchS = '64', stepsS = '3', topS = '30'] = process.argv.slice(2);
const batch = Number(batchS);
const steps = Number(stepsS);
// CLOCK=wall times kernels by performance.now: for short kernels (the MLP's), whose CPU time
// process.cpuUsage only sees in scheduler ticks; it then counts time lost to other processes too.
const wall = process.env['CLOCK'] === 'wall';
const cpuMs = () => {
  if (wall) return performance.now();
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

function category(name: string, shapes: number[][], attrs: string): string {
  const first = shapes[0] ?? [];
  if (name === '(customGrad)') return 'customGrad bodies outside their kernels (JS)';
  const native = (NATIVE_CONV_KERNELS as readonly string[]).indexOf(name);
  if (native >= 0) return ['conv forward', 'conv input gradient (dx)', 'conv filter gradient (dW)'][native]!;
  if ((NATIVE_BATCH_NORM_KERNELS as readonly string[]).includes(name)) return 'BatchNorm';
  if ((NATIVE_RELU_KERNELS as readonly string[]).includes(name)) return 'ReLU';
  if (name === 'RpgRingGenerate' || name === 'RpgRingGenerateGrad') return 'ring generation';
  if (name === 'Conv2D') {
    const f = shapes[1] ?? [];
    if (first[0] !== batch || (f[0] ?? 0) >= 8) return 'conv filter gradient (dW)';
    if (f[0] === 1 && f[1] === 1 && !attrs.includes('"pad":[[')) return '1×1 convs (shortcuts)';
    return attrs.includes('"pad":[[') ? 'conv input gradient (dx)' : 'conv forward';
  }
  if (name === 'Transpose') return first.includes(batch) ? 'activation transposes' : 'small transposes';
  if (['AvgPool', 'FusedDepthwiseConv2D', 'DepthwiseConv2dNative', 'Square', 'Rsqrt'].includes(name)) return 'BatchNorm';
  if (name === 'Relu' || name === 'Step') return 'ReLU';
  if (name === 'Identity' || name === 'Cast') return 'clones/casts';
  return first.reduce((a, b) => a * b, 1) >= 100_000 ? 'large elementwise' : 'small ops';
}

async function main(): Promise<void> {
  await selectBackend('wasm');
  const inputs = arch === 'lenet5' || arch === 'mlp' ? { height: 28, width: 28, channels: 1, numClasses: 10 } : { height: 32, width: 32, channels: 3, numClasses: 10 };
  const config = validateConfig({ seed: 1, model: { arch: arch as Architecture, smallInput: arch === 'resnet18' }, rpg: { enabled: kind === 'rpg', dof: '10%' }, train: { optimizer: 'adam', lr: 0.001 } });
  const resolved = resolveExperiment(config, inputs);
  const m = resolved.plan ? materializePlan(resolved.plan) : undefined;
  const net = new Network(resolved.spec, m, 1);
  const opt = new Optimizer({ name: 'adam', momentum: 0.9, weightDecay: 0, normalization: 'projected' }, net.variables, m);
  const [h, w, c] = resolved.spec.inputShape;
  const x = tf.randomUniform([batch, h, w, c], -1, 1) as tf.Tensor4D;
  const y = tf.tensor1d(Int32Array.from({ length: batch }, (_, i) => i % 10), 'int32');
  for (let i = 0; i < 2; i++) await trainStep(net, opt, x, y, 0.001);

  const engine = tf.engine() as unknown as { runKernelFunc: (p: { kernelName?: string; inputs?: Record<string, tf.Tensor>; attrs?: unknown }) => unknown };
  const original = engine.runKernelFunc.bind(engine);
  const byKey = new Map<string, { name: string; shapes: number[][]; attrs: string; calls: number; ms: number }>();
  const stack: number[] = [];
  engine.runKernelFunc = (p) => {
    const name = p.kernelName ?? '(customGrad)';
    const shapes = Object.values(p.inputs ?? {}).map((t) => [...(t?.shape ?? [])]);
    const attrs = JSON.stringify(p.attrs ?? {});
    const key = `${name} ${shapes.map((s) => s.join('×')).join(', ')} ${attrs}`;
    stack.push(0);
    const t0 = cpuMs();
    try {
      return original(p);
    } finally {
      const nested = stack.pop()!;
      const dt = cpuMs() - t0;
      if (stack.length) stack[stack.length - 1]! += dt;
      const e = byKey.get(key) ?? { name, shapes, attrs, calls: 0, ms: 0 };
      e.calls++;
      e.ms += dt - nested;
      byKey.set(key, e);
    }
  };
  const c0 = cpuMs();
  for (let i = 0; i < steps; i++) await trainStep(net, opt, x, y, 0.001);
  const stepMs = (cpuMs() - c0) / steps;
  engine.runKernelFunc = original;

  const group = (f: (e: { name: string; shapes: number[][]; attrs: string }) => string) => {
    const g = new Map<string, number>();
    for (const e of byKey.values()) g.set(f(e), (g.get(f(e)) ?? 0) + e.ms / steps);
    return [...g].sort((a, b) => b[1] - a[1]);
  };
  const line = (ms: number, label: string) => `${ms.toFixed(1).padStart(9)} ms ${((100 * ms) / stepMs).toFixed(1).padStart(5)}%  ${label}`;
  const inKernels = [...byKey.values()].reduce((a, e) => a + e.ms, 0) / steps;
  process.stdout.write(`${arch} ${kind}, batch ${batch}, wasm: ${stepMs.toFixed(1)} ms ${wall ? 'wall' : 'CPU'} per step (${steps} steps)\n\nby category\n`);
  for (const [k, ms] of group((e) => category(e.name, e.shapes, e.attrs))) process.stdout.write(line(ms, k) + '\n');
  process.stdout.write(line(stepMs - inKernels, 'outside kernels (JS: tape, tidy, dispatch)') + '\n\nby kernel\n');
  for (const [k, ms] of group((e) => e.name)) process.stdout.write(line(ms, k) + '\n');
  process.stdout.write('\nby kernel and shape\n');
  for (const e of [...byKey.values()].sort((a, b) => b.ms - a.ms).slice(0, Number(topS))) {
    process.stdout.write(line(e.ms / steps, `${(e.calls / steps).toFixed(0)}× ${e.name} ${e.shapes.map((s) => s.join('×')).join(', ')} ${e.attrs.slice(0, 70)}`) + '\n');
  }
  opt.dispose();
  net.dispose();
}

main().catch((err) => {
  process.stderr.write(`kernel-profile: ${(err as Error).stack ?? String(err)}\n`);
  process.exitCode = 1;
});
