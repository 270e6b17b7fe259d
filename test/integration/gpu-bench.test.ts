// bench/gpu.sh as a GPU machine runs it, here on whatever adapter exists (the software one in CI):
// it packs node, the bundle and the node_modules it needs outside the repository, then runs the
// packed copy, which must find everything inside the pack. RPG_REQUIRE_WEBGPU=1: no skipping.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { discoverWebGpu } from '../../src/engines/tfjs/webgpu-adapter';
import { webgpuOrSkip } from '../helpers/webgpu';

const REPO = path.resolve(__dirname, '../..');

test('bench/gpu.sh packs a self-contained folder and prints webgpu rows (a software adapter only with --allow-software, and marked so)', async (t) => {
  if (!(await webgpuOrSkip(t))) return;
  const software = (await discoverWebGpu()).primary!.isFallbackAdapter;
  const tmp = mkdtempSync(path.join(tmpdir(), 'rpg-gpu-bench-test-'));
  try {
    const pack = path.join(tmp, 'pack');
    const packed = spawnSync(path.join(REPO, 'bench', 'gpu.sh'), ['--pack', pack], { cwd: REPO, encoding: 'utf8', timeout: 300_000 });
    assert.equal(packed.status, 0, packed.stderr);
    const args = ['--archs', 'mlp', '--batch', '4', '--steps', '1', '--warmup', '1'];
    // PYTHON points at no interpreter: the PyTorch column is "not measured", nothing else changes.
    const env = { ...process.env, PYTHON: path.join(tmp, 'no-python') };
    if (software) {
      const refused = spawnSync(path.join(pack, 'gpu.sh'), args, { encoding: 'utf8', env, timeout: 300_000 });
      assert.equal(refused.status, 3, refused.stderr);
      assert.match(refused.stderr, /the WebGPU adapter is a software one .*pass --allow-software/);
    }
    const r = spawnSync(path.join(pack, 'gpu.sh'), [...args, ...(software ? ['--allow-software'] : [])], { encoding: 'utf8', env, timeout: 300_000 });
    assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
    assert.match(r.stderr, /gpu\.sh: Vulkan loader: /);
    assert.match(r.stdout, /^ {2}adapter: .+max storage binding/m);
    assert.match(r.stdout, new RegExp(`^\\| model \\| kind \\| ours: webgpu on .+${software ? ' \\(software adapter\\)' : ''} samples/s \\|`, 'm'));
    for (const kind of ['plain', 'rpg']) assert.match(r.stdout, new RegExp(`^\\| MLP 784-256-10 \\| ${kind} \\| [0-9,.]+ \\| [0-9,.]+ \\| not measured \\| — \\|$`, 'm'));
    assert.doesNotMatch(r.stdout + r.stderr, /already been set/, 'one tfjs-core: nothing loaded from outside the pack');
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});
