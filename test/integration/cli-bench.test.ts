// The benchmark script runs end to end at a tiny size (--quick) and merges its sections into
// an existing RESULTS.md without touching the other sections. No timing assertions.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';

const root = path.resolve(__dirname, '../..');

test('bench/run.ts --quick prints and writes every section, keeping foreign ones', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'rpg-bench-'));
  const out = path.join(dir, 'RESULTS.md');
  writeFileSync(out, '# Benchmark results\n\n## Language server\n\nkept as is\n\n## Step throughput\n\nold figures\n');
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'bench/run.ts', '--quick', '--out', out], { cwd: root, encoding: 'utf8', timeout: 120_000 });
  assert.equal(r.status, 0, r.stderr + r.stdout);
  const md = readFileSync(out, 'utf8');
  for (const s of ['## Training engine: setup', '## Step throughput', '## Ring generation cost', '## Memory', '## Tensor leaks', '## Checkpoint size vs DoF', '## PyTorch reference']) assert.ok(md.includes(s), s);
  assert.match(md, /## Language server\n\nkept as is/);
  assert.doesNotMatch(md, /old figures/);
  assert.match(md, /the same at every later step/);
  assert.equal(md.match(/^# Benchmark results/gm)!.length, 1);
});
