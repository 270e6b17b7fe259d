// Picks the fastest tensor backend that works here and says why. Native TensorFlow
// (tfjs-node-gpu, then tfjs-node) is an optional dependency: it needs libtensorflow, which
// its install script downloads, so on offline machines it is simply absent.
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import type { BackendName } from '../../core/config/schema';
import type { BackendAvailability } from '../../core/engine';
import { nativeConvStatus } from './native-conv';

export interface BackendChoice {
  readonly name: string;
  readonly reason: string;
  readonly backends: BackendAvailability[];
  readonly threads: number;
  readonly devices: string[];
}

let chosen: BackendChoice | undefined;

function tryRequire(id: string): { ok: true } | { ok: false; detail: string } {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    require(id);
    return { ok: true };
  } catch (err) {
    const msg = String((err as Error).message ?? err).split('\n')[0]!;
    return { ok: false, detail: /Cannot find module/.test(msg) ? `${id} is not installed` : `${id} failed to load: ${msg}` };
  }
}

async function probeNative(): Promise<BackendAvailability & { devices: string[] }> {
  for (const id of ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node']) {
    const r = tryRequire(id);
    if (r.ok && tf.findBackend('tensorflow')) {
      return { name: 'tensorflow', available: true, detail: `native TensorFlow via ${id}`, devices: [id.endsWith('gpu') ? 'GPU (CUDA)' : 'CPU (native)'] };
    }
    if (!r.ok && id === '@tensorflow/tfjs-node') return { name: 'tensorflow', available: false, detail: `${r.detail}. ${installNativeHint()}`, devices: [] };
  }
  return { name: 'tensorflow', available: false, detail: 'tfjs-node loaded but registered no backend', devices: [] };
}

async function loadWasm(): Promise<BackendAvailability> {
  const r = tryRequire('@tensorflow/tfjs-backend-wasm');
  if (!r.ok) return { name: 'wasm', available: false, detail: r.detail };
  // tfjs disables wasm threads under Node; SIMD is what makes wasm fast.
  const simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
  return { name: 'wasm', available: true, detail: `${simd ? 'WebAssembly with SIMD, 1 thread' : 'WebAssembly without SIMD'}; ${nativeConvStatus().detail}` };
}

/** Selects (once per process) the requested backend, or the fastest available for 'auto'. */
export async function selectBackend(preference: BackendName = 'auto'): Promise<BackendChoice> {
  if (chosen && (preference === 'auto' || preference === chosen.name)) return chosen;
  tryRequire('@tensorflow/tfjs-backend-cpu');
  const native = preference === 'auto' || preference === 'tensorflow' ? await probeNative() : { name: 'tensorflow' as const, available: false, detail: 'not probed (another backend was requested)', devices: [] };
  const wasm = await loadWasm();
  const cpu: BackendAvailability = { name: 'cpu', available: true, detail: 'pure JavaScript (slowest, always available)' };
  const backends = [native, wasm, cpu].map(({ name, available, detail }) => ({ name, available, detail }));
  const order = preference === 'auto' ? ['tensorflow', 'wasm', 'cpu'] : [preference];
  for (const name of order) {
    const info = backends.find((b) => b.name === name);
    if (!info?.available) {
      if (preference !== 'auto') throw new Error(`backend "${preference}" is not available: ${info?.detail ?? 'unknown backend'}`);
      continue;
    }
    if (!(await tf.setBackend(name))) {
      if (preference !== 'auto') throw new Error(`backend "${name}" failed to initialize`);
      // Say so in the reason: a silent fall back to cpu is 10–30× slower.
      const failed = backends.findIndex((b) => b.name === name);
      backends[failed] = { ...backends[failed]!, available: false, detail: `${backends[failed]!.detail}, but it failed to initialize (see the log)` };
      continue;
    }
    await tf.ready();
    silenceCpuBanner();
    const skipped = backends.filter((b) => !b.available).map((b) => `${b.name}: ${b.detail}`);
    const reason = preference === 'auto' ? `fastest available${skipped.length ? ` (skipped ${skipped.join('; ')})` : ''}` : 'requested';
    const devices = name === 'tensorflow' ? native.devices : ['CPU'];
    chosen = { name, reason, backends, threads: name === 'tensorflow' ? nativeThreads() : 1, devices };
    return chosen;
  }
  throw new Error('no tensor backend could be initialized');
}

/**
 * How to get native TensorFlow, and where: the install commands to run in the folder the
 * trainer loads its packages from (the extension's folder, or the repository), then a restart.
 */
export function installNativeHint(): string {
  const root = packageRoot();
  const where = root ? ` in ${root}` : ' next to the trainer';
  return (
    `To train on native TensorFlow, run \`npm install @tensorflow/tfjs-node@${tf.version_core}\` (CPU) or ` +
    `\`npm install @tensorflow/tfjs-node-gpu@${tf.version_core}\` (NVIDIA GPU: CUDA 11.2 and cuDNN 8.1)${where} on a machine that can download libtensorflow, ` +
    'then restart the trainer (RPG: Restart Trainer); meanwhile backend "auto" trains on wasm'
  );
}

/** The folder of this package's package.json (the extension or the repository), found above this module. */
function packageRoot(): string | undefined {
  for (let dir = __dirname, i = 0; i < 5; i++, dir = path.dirname(dir)) {
    try {
      const pkg = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as { name?: string };
      if (pkg.name === 'rpg-studio') return dir;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** Native TensorFlow's intra-op pool: TF_NUM_INTRAOP_THREADS when set (rpg.trainer.threads), else one per core. */
function nativeThreads(): number {
  const configured = Number(process.env.TF_NUM_INTRAOP_THREADS);
  return Number.isInteger(configured) && configured > 0 ? configured : availableParallelism();
}

/** The cpu backend prints a "use tfjs-node" banner on first use; `rpg info` says it better. */
function silenceCpuBanner(): void {
  const cpu = tf.findBackend('cpu') as unknown as { firstUse?: boolean } | null;
  if (cpu) cpu.firstUse = false;
}

export function tfjsVersion(): string {
  return tf.version_core;
}
