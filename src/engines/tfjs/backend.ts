// Picks the fastest tensor backend that works here and says why. Native TensorFlow
// (tfjs-node-gpu, then tfjs-node) is an optional dependency: it needs libtensorflow, which
// its install script downloads, so on offline machines it is simply absent. webgpu (Dawn, the
// `webgpu` package) reaches a GPU through Vulkan, Metal or D3D12; `auto` takes it only for a
// real adapter: a software one (Mesa's lavapipe, ~18× slower than wasm) is for testing and is
// used only when asked for by name.
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import type { BackendName } from '../../core/config/schema';
import type { BackendAvailability } from '../../core/engine';
import { computeThreads, nativeConvStatus } from './native-conv';
import { packagedNativeProblem } from './package-target';
import { adapterName, discoverWebGpu, GpuAdapterInfo } from './webgpu-adapter';
import { watchGpuErrors } from './webgpu-errors';

export interface BackendChoice {
  readonly name: string;
  readonly reason: string;
  readonly backends: BackendAvailability[];
  readonly threads: number;
  readonly devices: string[];
  /** WebGPU adapters found (empty when webgpu was not probed or has none). */
  readonly adapters: GpuAdapterInfo[];
  /** One line the user must see, e.g. training on a software adapter. */
  readonly warning?: string;
}

let chosen: BackendChoice | undefined;

// Static require()s, so that esbuild bundles these packages into dist/ (a .vsix has no
// node_modules); native TensorFlow stays external (esbuild.mjs) and is found at run time.
const LOADERS: Record<string, () => unknown> = {
  '@tensorflow/tfjs-node-gpu': () => require('@tensorflow/tfjs-node-gpu'),
  '@tensorflow/tfjs-node': () => require('@tensorflow/tfjs-node'),
  '@tensorflow/tfjs-backend-cpu': () => require('@tensorflow/tfjs-backend-cpu'),
  '@tensorflow/tfjs-backend-wasm': () => require('@tensorflow/tfjs-backend-wasm'),
  '@tensorflow/tfjs-backend-webgpu': () => require('@tensorflow/tfjs-backend-webgpu'),
};

function tryRequire(id: keyof typeof LOADERS): { ok: true } | { ok: false; detail: string } {
  try {
    LOADERS[id]!();
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

type WebGpuProbe = BackendAvailability & { adapters: GpuAdapterInfo[]; primary?: GpuAdapterInfo };

/**
 * The adapters Dawn offers; webgpu is available when its high-performance request (the adapter
 * tfjs's backend takes) returned one. tfjs-backend-webgpu registers itself only if navigator.gpu
 * exists when it loads, so it is required after discovery has installed Dawn there.
 */
async function probeWebGpu(): Promise<WebGpuProbe> {
  const found = await discoverWebGpu();
  const { primary, adapters } = found;
  if (!primary) return { name: 'webgpu', available: false, detail: found.problem ?? 'no WebGPU adapter', adapters };
  const r = tryRequire('@tensorflow/tfjs-backend-webgpu');
  if (!r.ok) return { name: 'webgpu', available: false, detail: r.detail, adapters };
  if (!tf.findBackendFactory('webgpu')) return { name: 'webgpu', available: false, detail: '@tensorflow/tfjs-backend-webgpu registered no backend (navigator.gpu was missing when it loaded)', adapters };
  const detail = `WebGPU on ${adapterName(primary)}${primary.isFallbackAdapter ? ' (software adapter: for testing, not speed)' : ''}`;
  return { name: 'webgpu', available: true, detail, adapters, primary };
}

async function loadWasm(): Promise<BackendAvailability> {
  const r = tryRequire('@tensorflow/tfjs-backend-wasm');
  if (!r.ok) return { name: 'wasm', available: false, detail: r.detail };
  // tfjs disables wasm threads under Node; SIMD is what makes wasm fast. The oneDNN kernels
  // (native-conv.ts) run on RPG_THREADS threads.
  const simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
  const conv = nativeConvStatus();
  // From a .vsix, say which package lacks the addon rather than how a checkout builds it.
  const convDetail = conv.active ? `${conv.detail} (native addon)` : (packagedNativeProblem(conv.detail) ?? conv.detail);
  return { name: 'wasm', available: true, detail: `${simd ? 'WebAssembly with SIMD, 1 thread' : 'WebAssembly without SIMD'}; ${convDetail}` };
}

/** Selects (once per process) the requested backend, or the fastest available for 'auto'. */
export async function selectBackend(preference: BackendName = 'auto'): Promise<BackendChoice> {
  if (chosen && (preference === 'auto' || preference === chosen.name)) return chosen;
  tryRequire('@tensorflow/tfjs-backend-cpu');
  const notProbed = (name: 'tensorflow' | 'webgpu') => ({ name, available: false, detail: 'not probed (another backend was requested)', devices: [] as string[], adapters: [] as GpuAdapterInfo[] });
  const native = preference === 'auto' || preference === 'tensorflow' ? await probeNative() : notProbed('tensorflow');
  const webgpu: WebGpuProbe = preference === 'auto' || preference === 'webgpu' ? await probeWebGpu() : notProbed('webgpu');
  const wasm: BackendAvailability = preference === 'auto' || preference === 'wasm' ? await loadWasm() : { name: 'wasm', available: false, detail: 'not probed (another backend was requested)' };
  const cpu: BackendAvailability = { name: 'cpu', available: true, detail: 'pure JavaScript (slowest, always available)' };
  const backends = [native, webgpu, wasm, cpu].map(({ name, available, detail }) => ({ name, available, detail }));
  const software = webgpu.primary?.isFallbackAdapter === true;
  if (preference === 'auto' && software) {
    // Listed as available in `rpg info`, but auto never trains on it.
    const i = backends.findIndex((b) => b.name === 'webgpu');
    backends[i] = { ...backends[i]!, detail: `${backends[i]!.detail}; auto skips a software adapter (ask for it with --backend webgpu)` };
  }
  const order = preference === 'auto' ? ['tensorflow', 'webgpu', 'wasm', 'cpu'] : [preference];
  for (const name of order) {
    const info = backends.find((b) => b.name === name);
    if (!info?.available || (preference === 'auto' && name === 'webgpu' && software)) {
      if (preference !== 'auto') throw new Error(`backend "${preference}" is not available: ${info?.detail ?? 'unknown backend'}`);
      continue;
    }
    if (!(await initBackend(name))) {
      if (preference !== 'auto') throw new Error(`backend "${name}" failed to initialize${name === 'webgpu' ? ` on ${webgpu.primary ? adapterName(webgpu.primary) : 'its adapter'}` : ''}`);
      // Say so in the reason: a silent fall back to cpu is 10–30× slower.
      const failed = backends.findIndex((b) => b.name === name);
      backends[failed] = { ...backends[failed]!, available: false, detail: `${backends[failed]!.detail}, but it failed to initialize (see the log)` };
      continue;
    }
    await tf.ready();
    silenceCpuBanner();
    if (name === 'webgpu') watchGpuErrors(tf.backend(), `webgpu · ${adapterName(webgpu.primary!)}`);
    const skipped = backends.filter((b) => b.name !== name && (!b.available || (b.name === 'webgpu' && software))).map((b) => `${b.name}: ${b.detail}`);
    const reason = preference === 'auto' ? `fastest available${skipped.length ? ` (skipped ${skipped.join('; ')})` : ''}` : 'requested';
    const devices = name === 'tensorflow' ? native.devices : name === 'webgpu' ? [`webgpu · ${adapterName(webgpu.primary!)}`] : ['CPU'];
    const warning = name === 'webgpu' && software ? `warning: training on a software WebGPU adapter (${adapterName(webgpu.primary!)}): it is for testing the GPU code path, far slower than wasm` : undefined;
    chosen = { name, reason, backends, threads: name === 'tensorflow' ? nativeThreads() : name === 'wasm' ? computeThreads() : 1, devices, adapters: webgpu.adapters, ...(warning ? { warning } : {}) };
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

/** tf.setBackend, with a throwing backend factory counted as a failure like a false result. */
async function initBackend(name: string): Promise<boolean> {
  try {
    return await tf.setBackend(name);
  } catch {
    return false;
  }
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
