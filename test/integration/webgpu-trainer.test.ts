// The webgpu backend through the real processes: the trainer over JSON-RPC (initialize on webgpu,
// the adapter in its log, a run that trains on it and records the device), and `rpg info`'s
// choice when only a software adapter, no Vulkan driver or no Vulkan loader is there (auto falls
// back to wasm and says why). The trainer tests run where an adapter exists; RPG_REQUIRE_WEBGPU=1
// makes a missing adapter a failure.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { initializeRequest, PROTOCOL_VERSION, trainStartRequest } from '../../src/protocol';
import { discoverWebGpu, vulkanLoaderLoads } from '../../src/engines/tfjs/webgpu-adapter';
import { ensureBuilt } from '../helpers/build';
import { webgpuOrSkip } from '../helpers/webgpu';
import { killAll, readMetrics, removeDir, REPO, startTrainer, tempDir, tinyConfig } from './trainer-harness';

const CLI = path.join(REPO, 'dist', 'cli.js');

/** Waits for a trainer log line (stderr is a pipe of its own: it may arrive after a response). */
async function logLine(stderr: readonly string[], match: (l: string) => boolean): Promise<string> {
  const until = Date.now() + 60_000; // a bound for a broken trainer, not a speed expectation
  for (;;) {
    const hit = stderr.find(match);
    if (hit) return hit;
    if (Date.now() > until) throw new Error(`no such trainer log line; got:\n${stderr.slice(-20).join('\n')}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

function rpgInfo(env: NodeJS.ProcessEnv): { out: string; err: string; status: number | null } {
  ensureBuilt('cli');
  const r = spawnSync(process.execPath, [CLI, 'info'], { env: { ...process.env, ...env }, encoding: 'utf8', timeout: 120_000 });
  return { out: r.stdout, err: r.stderr, status: r.status };
}

describe('webgpu through the trainer and the CLI', () => {
  const runsDir = tempDir('webgpu');
  after(() => {
    killAll();
    removeDir(runsDir);
  });

  test('the trainer initializes on webgpu, logs every adapter, trains a run there and records the device', async (t) => {
    if (!(await webgpuOrSkip(t))) return;
    const primary = (await discoverWebGpu()).primary!;
    const trainer = startTrainer();
    const init = await trainer.client.request(initializeRequest, { clientName: 'webgpu-tests', protocolVersion: PROTOCOL_VERSION, backend: 'webgpu' });
    assert.equal(init.backend, 'webgpu');
    assert.equal(init.devices[0], `webgpu · ${primary.description || [primary.vendor, primary.architecture, primary.device].filter(Boolean).join(' ')}`);
    assert.ok(init.backends.some((b) => b.name === 'webgpu' && b.available));
    await logLine(trainer.stderr, (l) => l.includes('WebGPU adapter: ') && l.includes('max storage binding'));
    // The backend line comes after the adapter lines and the warning: all of them are in by then.
    await logLine(trainer.stderr, (l) => l.includes('[info] backend webgpu (requested)'));
    assert.equal(trainer.stderr.some((l) => l.includes('[warn] warning: training on a software WebGPU adapter')), primary.isFallbackAdapter);

    const { runId } = await trainer.client.request(trainStartRequest, { text: tinyConfig({ backend: 'webgpu', maxSteps: 6, evalEvery: 3, checkpointEvery: 3 }), runsDir });
    const started = await trainer.next('train/started', (p) => p.runId === runId, 120_000);
    assert.equal(started.params.backend, 'webgpu');
    assert.equal(started.params.device, init.devices[0]);
    const finished = await trainer.next('train/finished', (p) => p.runId === runId, 300_000);
    assert.equal(finished.params.status, 'finished');
    const runDir = finished.params.runDir as string;
    const record = JSON.parse(readFileSync(path.join(runDir, 'run.json'), 'utf8')) as { backend: string; device?: string; status: string };
    assert.deepEqual([record.backend, record.device, record.status], ['webgpu', init.devices[0], 'finished']);
    const losses = readMetrics(runDir).filter((r) => r.type === 'train').map((r) => r.loss);
    assert.equal(losses.length, 6);
    assert.ok(losses.every(Number.isFinite) && losses[5]! < losses[0]!, `losses ${losses}`);
    assert.deepEqual(trainer.of('train/checkpoint', runId).map((p) => p.params.step), [3, 6]);
    await trainer.close();
  });

  test('rpg info lists the adapter; auto takes a software adapter never, a real one ahead of wasm', async (t) => {
    if (!(await webgpuOrSkip(t))) return;
    const primary = (await discoverWebGpu()).primary!;
    const { out, status } = rpgInfo({});
    assert.equal(status, 0, out);
    assert.match(out, / {2}WebGPU adapter: .+max buffer .+, max storage binding .+; requested as high-performance/);
    assert.match(out, /✓ webgpu {5}WebGPU on /);
    if (primary.isFallbackAdapter) {
      assert.match(out, /auto skips a software adapter \(ask for it with --backend webgpu\)/);
      assert.match(out, /^  selected: wasm \(fastest available; the others are unavailable or slower, as listed above\); threads \d+; devices CPU$/m);
    } else {
      assert.match(out, /^  selected: webgpu /m);
    }
  });

  test('no Vulkan driver: webgpu is unavailable with one line saying what to install, and auto falls back to wasm saying why', (t) => {
    if (process.platform !== 'linux' || !vulkanLoaderLoads()) {
      t.skip('needs Linux with the Vulkan loader installed (the case staged is a loader without a driver)');
      return;
    }
    const { out, err, status } = rpgInfo({ VK_DRIVER_FILES: path.join(runsDir, 'no-such-icd.json') });
    assert.equal(status, 0, out);
    const line = out.split('\n').find((l) => l.includes('✗ webgpu'));
    assert.ok(line, out);
    assert.match(line, /the Vulkan loader is installed but no Vulkan driver is \(VK_DRIVER_FILES=.*no-such-icd\.json names no existing ICD json\): install libvulkan1 and your GPU vendor's Vulkan driver/);
    assert.match(out, /^  selected: wasm \(fastest available; the others are unavailable or slower, as listed above\)/m);
    // Dawn is not asked when there is no driver, so its Vulkan warnings never reach the user.
    assert.doesNotMatch(err, /vkCreateInstance|VK_ERROR/);
  });

  test('no Vulkan loader (libvulkan.so.1 hidden in a private mount namespace): one line naming libvulkan1', (t) => {
    // Needs root and unshare(1); where that is not possible the case cannot be staged here.
    const lib = spawnSync('sh', ['-c', 'ldconfig -p | awk \'$1 == "libvulkan.so.1" { print $NF; exit }\''], { encoding: 'utf8' }).stdout.trim();
    const probe = spawnSync('unshare', ['-m', 'true']);
    if (!lib || probe.status !== 0) {
      t.skip(!lib ? 'libvulkan.so.1 is not installed here (nothing to hide)' : 'unshare -m is not permitted here');
      return;
    }
    ensureBuilt('cli');
    const r = spawnSync('unshare', ['-m', 'sh', '-c', `mount --bind /dev/null "${lib}" && exec "${process.execPath}" "${CLI}" info`], { encoding: 'utf8', timeout: 120_000 });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /✗ webgpu {5}no Vulkan loader \(libvulkan\.so\.1 not found\): install libvulkan1 and your GPU vendor's Vulkan driver/);
    assert.match(r.stdout, /^  selected: wasm /m);
  });
});
