// The Compare Runs table's host side with 1,000 runs: scanning the runs folder (scanRuns) and
// building every row (compareRows: run.json, the end of metrics.jsonl, the checkpoint's size),
// cold and again with nothing changed (what a live update costs when one run trains).
// Prints the figures; asserts nothing.   node --import tsx bench/compare-rows.ts [--runs 1000]
import { mkdirSync, mkdtempSync, rmSync, writeFileSync, appendFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import * as path from 'node:path';
import { scanRuns } from '../src/core/runs/scan';
import { compareRows, MetricsTails, RunSource } from '../src/extension/panels/compare-rows';

const n = Number(process.argv[process.argv.indexOf('--runs') + 1]) || 1000;
const root = mkdtempSync(path.join(tmpdir(), 'rpg-compare-bench-'));
const runsDir = path.join(root, 'runs');

// Runs shaped like the recorded LeNet-5 sweeps: 1,000 training rows and 8 evaluations each (~150 KB).
const metricsText = (seed: number) => {
  const lines: string[] = [];
  for (let step = 1; step <= 1000; step++) {
    lines.push(JSON.stringify({ type: 'train', step, epoch: step / 125, progress: step / 1000, loss: 2 / Math.sqrt(step) + 0.01 * seed, acc: 0.9, lr: 0.001, samplesPerSec: 3000 + (step % 50), time: step * 0.02, etaSeconds: 1 }));
    if (step % 125 === 0) lines.push(JSON.stringify({ type: 'eval', step, epoch: step / 125, loss: 0.3, acc: 0.95, time: step * 0.02 }));
  }
  return lines.join('\n') + '\n';
};
const t0 = performance.now();
for (let i = 0; i < n; i++) {
  const dir = path.join(runsDir, `sweep-${Math.floor(i / 100)}-sweep`, 's1', `rpg-${100 + (i % 100)}`, `seed${i}`);
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'run.json'), JSON.stringify({ runId: `seed${i}`, name: `rpg-${100 + (i % 100)}`, status: 'finished', engine: 'tfjs', backend: 'wasm', arch: 'lenet5', dataset: 'mnist-embedded', dof: 100 + (i % 100), ringSize: 100 + (i % 100), totalParams: 44426, startedAt: new Date(Date.UTC(2026, 11, 1, 0, 0, i)).toISOString(), durationSec: 20, step: 1000, epoch: 8, bestAcc: 0.95, finalAcc: 0.95, config: { name: 'x', seed: i, model: { arch: 'lenet5' }, rpg: { enabled: true, dof: 100 }, data: { dataset: 'mnist-embedded' }, train: { lr: 0.001, optimizer: 'adam', epochs: 8 } } }));
  writeFileSync(path.join(dir, 'metrics.jsonl'), metricsText(i));
  writeFileSync(path.join(dir, 'checkpoint.bin'), Buffer.alloc(2048));
}
const writeMs = performance.now() - t0;

async function main(): Promise<void> {
  const sources = async (): Promise<RunSource[]> => (await scanRuns(runsDir)).map((s) => ({ runId: s.record.runId, dir: s.dir, record: s.record, status: s.record.status, hasCheckpoint: s.hasCheckpoint }));
  const tails = new MetricsTails();
  let t = performance.now();
  const runs = await sources();
  const scanMs = performance.now() - t;
  t = performance.now();
  const rows = await compareRows(runs, tails);
  const coldMs = performance.now() - t;
  t = performance.now();
  await compareRows(runs, tails);
  const warmMs = performance.now() - t;
  // One run trains: its metrics grow by a row; the next update re-reads that file's end only.
  appendFileSync(path.join(runs[0]!.dir, 'metrics.jsonl'), JSON.stringify({ type: 'train', step: 1001, epoch: 8.01, loss: 0.1, acc: 0.9, lr: 0.001, samplesPerSec: 3000, time: 20.1 }) + '\n');
  t = performance.now();
  await compareRows(runs, tails);
  const oneChangedMs = performance.now() - t;
  const payload = JSON.stringify(rows).length;
  console.log(`compare rows, ${rows.length.toLocaleString('en-US')} runs of ~${Math.round(metricsText(0).length / 1024)} KB metrics each (written in ${(writeMs / 1000).toFixed(1)} s):`);
  console.log(`  scanRuns ${scanMs.toFixed(0)} ms; rows cold ${coldMs.toFixed(0)} ms; again unchanged ${warmMs.toFixed(0)} ms; one run grown ${oneChangedMs.toFixed(0)} ms; the rows message ${(payload / 1024).toFixed(0)} KiB of JSON`);
  console.log(`  load average ${loadavg().map((v) => v.toFixed(1)).join(' ')}, ${new Date().toISOString()}`);
  rmSync(root, { recursive: true, force: true });
}

void main();
