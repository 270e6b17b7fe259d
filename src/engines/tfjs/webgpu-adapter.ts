// WebGPU adapter discovery through Dawn (the `webgpu` package), done by the project because tfjs
// neither exposes the adapter it picks nor says why there is none (it logs a TypeError and
// setBackend('webgpu') returns false). One Dawn instance per process serves both this discovery
// and tfjs's webgpu backend (navigator.gpu), so what `rpg info` lists is what training gets.
import { existsSync, readdirSync } from 'node:fs';
import { homedir } from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { packagedWebGpuProblem } from './package-target';

/** The request that returned an adapter (one adapter can answer several). */
export type AdapterRequest = 'high-performance' | 'low-power' | 'fallback';

export interface GpuAdapterInfo {
  /** The requests that returned this adapter; tfjs's backend uses the high-performance one. */
  readonly requests: AdapterRequest[];
  readonly vendor: string;
  readonly architecture: string;
  readonly device: string;
  readonly description: string;
  /** A software (CPU) implementation such as Mesa's lavapipe: for testing, never for speed. */
  readonly isFallbackAdapter: boolean;
  readonly maxBufferSize: number;
  readonly maxStorageBufferBindingSize: number;
}

export interface WebGpuDiscovery {
  /** Distinct adapters, the high-performance one first. */
  readonly adapters: GpuAdapterInfo[];
  /** The adapter tfjs's webgpu backend will run on (its high-performance request), if any. */
  readonly primary: GpuAdapterInfo | undefined;
  /** One line: why there is no adapter (what is missing and what to install). */
  readonly problem: string | undefined;
}

// The few WebGPU shapes used here, declared structurally: the DOM lib's and @webgpu/types'
// global declarations would clash.
interface DawnAdapter {
  readonly info: { vendor: string; architecture: string; device: string; description: string; isFallbackAdapter?: boolean };
  readonly isFallbackAdapter?: boolean;
  readonly limits: { maxBufferSize: number; maxStorageBufferBindingSize: number };
}
export interface DawnGpu {
  requestAdapter(options?: { powerPreference?: 'high-performance' | 'low-power'; forceFallbackAdapter?: boolean }): Promise<DawnAdapter | null>;
}
interface DawnModule {
  create(flags: string[]): DawnGpu;
  globals: Record<string, unknown>;
}

let dawn: Promise<{ gpu: DawnGpu } | { error: string }> | undefined;

/**
 * Loads Dawn once and makes it the process's WebGPU: its globals (GPUBufferUsage, GPUMapMode, …)
 * and navigator.gpu, both of which @tensorflow/tfjs-backend-webgpu reads when it is loaded.
 * `webgpu` is an ES module using import.meta.url: a dynamic import() is the way to load it from
 * the CommonJS bundles (esbuild keeps it external and leaves the import() as is).
 */
export function loadDawn(): Promise<{ gpu: DawnGpu } | { error: string }> {
  dawn ??= (async () => {
    let mod: DawnModule;
    try {
      const bundled = bundledDawn();
      mod = (bundled ? await import(bundled) : await import('webgpu')) as unknown as DawnModule;
    } catch (err) {
      const msg = String((err as Error).message ?? err).split('\n')[0]!;
      if (!/Cannot find (module|package)/.test(msg)) return { error: `the npm package webgpu failed to load: ${msg}` };
      return { error: packagedWebGpuProblem() ?? 'the npm package webgpu is not installed (npm ci installs it)' };
    }
    const gpu = mod.create([]);
    Object.assign(globalThis, mod.globals);
    // Node ≥ 21 defines navigator as a getter-only global: define a property, never assign.
    const nav = (globalThis as { navigator?: object }).navigator;
    if (nav) Object.defineProperty(nav, 'gpu', { value: gpu, configurable: true, enumerable: true });
    else Object.defineProperty(globalThis, 'navigator', { value: { gpu }, configurable: true, enumerable: true, writable: true });
    return { gpu };
  })();
  return dawn;
}

/**
 * A platform .vsix's Dawn: dist/webgpu.mjs (esbuild.mjs bundles the webgpu package's loader)
 * with dist/dawn/<platform>-<arch>/dawn.node beside it. A checkout has no binary there and
 * imports the webgpu package from node_modules.
 */
function bundledDawn(): string | undefined {
  const loader = path.join(__dirname, 'webgpu.mjs');
  const arch = process.platform === 'darwin' ? 'universal' : process.arch;
  return existsSync(path.join(__dirname, 'dawn', `${process.platform}-${arch}`, 'dawn.node')) && existsSync(loader) ? pathToFileURL(loader).href : undefined;
}

const REQUESTS: { request: AdapterRequest; options: { powerPreference?: 'high-performance' | 'low-power'; forceFallbackAdapter?: boolean } }[] = [
  { request: 'high-performance', options: { powerPreference: 'high-performance' } },
  { request: 'low-power', options: { powerPreference: 'low-power' } },
  { request: 'fallback', options: { forceFallbackAdapter: true } },
];

let discovery: Promise<WebGpuDiscovery> | undefined;

/** Every adapter Dawn offers here (once per process), or why there is none. */
export function discoverWebGpu(): Promise<WebGpuDiscovery> {
  discovery ??= (async () => {
    // A package without Dawn for this machine: that is the reason, whatever the drivers.
    const packaged = packagedWebGpuProblem();
    if (packaged && !bundledDawn()) return { adapters: [], primary: undefined, problem: packaged };
    // On Linux Dawn reaches GPUs only through Vulkan: without a loader or a driver there is
    // nothing to ask, and asking makes Dawn print Vulkan warnings on stderr (in `rpg info`, in
    // every trainer start) that say less than the reason below.
    if (process.platform === 'linux' && (!vulkanLoaderLoads() || !vulkanDrivers().length)) return { adapters: [], primary: undefined, problem: noAdapterReason() };
    const loaded = await loadDawn();
    if ('error' in loaded) return { adapters: [], primary: undefined, problem: loaded.error };
    const adapters: GpuAdapterInfo[] = [];
    let primary: GpuAdapterInfo | undefined;
    for (const { request, options } of REQUESTS) {
      let adapter: DawnAdapter | null = null;
      try {
        adapter = await loaded.gpu.requestAdapter(options);
      } catch {
        adapter = null; // a failed request is one adapter less, the others may still answer
      }
      if (!adapter) continue;
      const info = adapterInfo(adapter, request);
      const same = adapters.find((a) => sameAdapter(a, info));
      if (same) same.requests.push(request);
      else adapters.push(info);
      if (request === 'high-performance') primary = same ?? info;
    }
    return { adapters, primary, problem: adapters.length ? undefined : noAdapterReason() };
  })();
  return discovery;
}

function adapterInfo(a: DawnAdapter, request: AdapterRequest): GpuAdapterInfo & { requests: AdapterRequest[] } {
  const { vendor, architecture, device, description } = a.info;
  return {
    requests: [request],
    vendor: vendor ?? '',
    architecture: architecture ?? '',
    device: device ?? '',
    description: description ?? '',
    // GPUAdapterInfo.isFallbackAdapter in current WebGPU (Dawn), GPUAdapter's in older drafts.
    isFallbackAdapter: Boolean(a.info.isFallbackAdapter ?? a.isFallbackAdapter),
    maxBufferSize: a.limits.maxBufferSize,
    maxStorageBufferBindingSize: a.limits.maxStorageBufferBindingSize,
  };
}

function sameAdapter(a: GpuAdapterInfo, b: GpuAdapterInfo): boolean {
  return a.vendor === b.vendor && a.architecture === b.architecture && a.device === b.device && a.description === b.description && a.isFallbackAdapter === b.isFallbackAdapter;
}

/** Short name of an adapter: its description, else vendor and device. */
export function adapterName(a: GpuAdapterInfo): string {
  return a.description || [a.vendor, a.architecture, a.device].filter(Boolean).join(' ') || 'unnamed adapter';
}

/** One line for `rpg info` and the trainer log. */
export function describeAdapter(a: GpuAdapterInfo): string {
  const id = [a.vendor && `vendor ${a.vendor}`, a.architecture && `architecture ${a.architecture}`, a.device && `device ${a.device}`].filter(Boolean).join(', ');
  return `${adapterName(a)}${a.isFallbackAdapter ? ' (software adapter: for testing, not speed)' : ''}; ${id || 'no vendor information'}; max buffer ${bytes(a.maxBufferSize)}, max storage binding ${bytes(a.maxStorageBufferBindingSize)}; requested as ${a.requests.join(', ')}`;
}

function bytes(n: number): string {
  if (n >= 2 ** 30) return `${+(n / 2 ** 30).toFixed(2)} GiB`;
  if (n >= 2 ** 20) return `${+(n / 2 ** 20).toFixed(1)} MiB`;
  return `${n} B`;
}

// ---- why there is no adapter ----------------------------------------------------------------

const INSTALL_HINT = "install libvulkan1 and your GPU vendor's Vulkan driver";

/** One line naming what is missing, from what this machine has (Dawn itself only logs). */
export function noAdapterReason(): string {
  if (process.platform === 'darwin') return 'WebGPU found no Metal adapter (macOS 11+ on a Mac with a Metal GPU is needed)';
  if (process.platform === 'win32') return 'WebGPU found no D3D12 or Vulkan adapter: update the GPU driver';
  if (process.platform !== 'linux') return `WebGPU has no backend on ${process.platform}`;
  if (!vulkanLoaderLoads()) return `no Vulkan loader (libvulkan.so.1 not found): ${INSTALL_HINT} (Debian/Ubuntu: apt-get install libvulkan1; NVIDIA: the driver's Vulkan ICD; AMD/Intel: mesa-vulkan-drivers); without a GPU, for testing: npm run setup:software-gpu`;
  const icds = vulkanDrivers();
  if (!icds.length) {
    const listed = process.env['VK_DRIVER_FILES'] ? `VK_DRIVER_FILES=${process.env['VK_DRIVER_FILES']} names no existing ICD json` : process.env['VK_ICD_FILENAMES'] ? `VK_ICD_FILENAMES=${process.env['VK_ICD_FILENAMES']} names no existing ICD json` : `no ICD json in ${icdDirs().join(', ')}`;
    return `the Vulkan loader is installed but no Vulkan driver is (${listed}): ${INSTALL_HINT}; in a container the NVIDIA runtime needs NVIDIA_DRIVER_CAPABILITIES to include graphics; for testing without a GPU: npm run setup:software-gpu`;
  }
  return `no usable WebGPU adapter through the Vulkan driver(s) ${icds.map((f) => path.basename(f)).join(', ')}: no GPU is visible to them or they are too old for Dawn (Mesa's lavapipe needs Mesa ≥ 25; npm run setup:software-gpu fetches one for testing); ${INSTALL_HINT}`;
}

/**
 * Whether the dynamic linker finds libvulkan.so.1 the way Dawn will: process.dlopen() of it
 * fails with "did not self-register" when the library loads (it is no Node addon) and with
 * "cannot open shared object file" when it is missing.
 */
export function vulkanLoaderLoads(soname = 'libvulkan.so.1'): boolean {
  try {
    process.dlopen({ exports: {} } as NodeJS.Module, soname);
    return true;
  } catch (err) {
    return /self-register/.test(String((err as Error).message));
  }
}

/** The folders the Vulkan loader reads ICD manifests from (absent ones included). */
function icdDirs(): string[] {
  const config = (process.env['XDG_CONFIG_DIRS'] || '/etc/xdg').split(':');
  const data = (process.env['XDG_DATA_DIRS'] || '/usr/local/share:/usr/share').split(':');
  return [...config.map((d) => path.join(d, 'vulkan', 'icd.d')), '/etc/vulkan/icd.d', ...data.map((d) => path.join(d, 'vulkan', 'icd.d')), path.join(homedir(), '.local', 'share', 'vulkan', 'icd.d')];
}

/** The ICD manifests the loader will consider: VK_DRIVER_FILES (or its older name) replaces the search. */
export function vulkanDrivers(): string[] {
  const listed = process.env['VK_DRIVER_FILES'] || process.env['VK_ICD_FILENAMES'];
  const entries = listed ? listed.split(':').filter(Boolean) : icdDirs();
  const extra = (process.env['VK_ADD_DRIVER_FILES'] ?? '').split(':').filter(Boolean);
  const files: string[] = [];
  for (const entry of [...entries, ...extra]) {
    if (!existsSync(entry)) continue;
    if (entry.endsWith('.json')) files.push(entry);
    else {
      try {
        for (const f of readdirSync(entry)) if (f.endsWith('.json')) files.push(path.join(entry, f));
      } catch {
        // unreadable folder: the loader cannot use it either
      }
    }
  }
  return files;
}
