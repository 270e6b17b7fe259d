// The pure pieces behind the Experiments view and the run pickers (issue 18, items 11, 15, 19,
// 20): runs tied to their config in a copied workspace, pickers that name runs by experiment,
// and a manifest that says what it does.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { runOwners } from '../../src/extension/run-ownership';
import { stopPickItems } from '../../src/extension/pick-items';
import type { RunInfo } from '../../src/extension/runs';

const cfg = (file: string, name: string, runsDir: string) => ({ file, name, runsDir });
const owners = (runs: { dir: string; configPath?: string; configRelPath?: string }[], configs: ReturnType<typeof cfg>[]) => {
  const map = runOwners(runs, configs, (c) => c.file);
  return runs.map((r) => map.get(r)?.file);
};

test('a copied workspace keeps its runs under their configs: by path relative to the run, then by name', () => {
  // The workspace was /old/ws; it is now /new/ws. Records still hold /old/ws paths.
  const configs = [cfg('/new/ws/lenet.rpg.json', 'lenet5-mnist-10pct', '/new/ws/runs'), cfg('/new/ws/sub/mlp.rpg.json', 'mlp', '/new/ws/runs')];
  const runs = [
    // Written by this version: configRelPath survives the copy.
    { dir: '/new/ws/runs/lenet5-mnist-10pct/2026-12-06T20-00-00-000Z', configPath: '/old/ws/lenet.rpg.json', configRelPath: '../../../lenet.rpg.json' },
    // Written before configRelPath: filed under the config's name.
    { dir: '/new/ws/runs/mlp/2026-12-06T19-00-00-000Z', configPath: '/old/ws/sub/mlp.rpg.json' },
    // A sweep point of the same experiment.
    { dir: '/new/ws/runs/mlp-sweep/2026-12-06T18-00-00-000Z/dof-100/seed-1', configPath: '/old/ws/sub/mlp.rpg.json' },
    // Same workspace, absolute path right.
    { dir: '/new/ws/runs/lenet5-mnist-10pct/b', configPath: '/new/ws/lenet.rpg.json' },
    // Nothing matches: an orphan.
    { dir: '/new/ws/runs/gone/c', configPath: '/old/ws/gone.rpg.json' },
  ];
  assert.deepEqual(owners(runs, configs), ['/new/ws/lenet.rpg.json', '/new/ws/sub/mlp.rpg.json', '/new/ws/sub/mlp.rpg.json', '/new/ws/lenet.rpg.json', undefined]);
});

test('two configs with the same name: the file name decides, and an undecidable run stays an orphan', () => {
  const configs = [cfg('/ws/a/exp.rpg.json', 'exp', '/ws/runs'), cfg('/ws/b/other.rpg.json', 'exp', '/ws/runs')];
  assert.deepEqual(owners([{ dir: '/ws/runs/exp/1', configPath: '/old/b/other.rpg.json' }, { dir: '/ws/runs/exp/2' }], configs), ['/ws/b/other.rpg.json', undefined]);
});

test('the Stop picker names each run by its experiment and shows its id once', () => {
  const run = (runId: string, status: RunInfo['status'], live?: RunInfo['live']): RunInfo => ({ runId, name: 'lenet5-mnist-10pct', dir: '', status, hasCheckpoint: false, ...(live ? { live } : {}) });
  const items = stopPickItems([run('2026-12-06T20-00-00-000Z', 'running', { epoch: 2.5, totalEpochs: 10, progress: 0.25, samplesPerSec: 900, loss: 0.3, acc: 0.9, etaSeconds: 60 }), run('2026-12-06T20-01-00-000Z', 'queued')]);
  assert.deepEqual(items.map((i) => [i.label, i.description]), [
    ['Stop all runs', '2 runs'],
    ['lenet5-mnist-10pct', 'epoch 3/10 · 25% · 2026-12-06T20-00-00-000Z'],
    ['lenet5-mnist-10pct', 'queued · 2026-12-06T20-01-00-000Z'],
  ]);
  for (const i of items.slice(1)) assert.equal(`${i.label} ${i.description}`.split(i.runs[0]!.runId).length, 2, 'the id appears once');
});

test('the manifest: walkthrough text has no raw backticks, "Train it" completes on a finished run, settings say they offer a restart', () => {
  const pkg = JSON.parse(readFileSync(path.join(__dirname, '../../package.json'), 'utf8'));
  const steps = pkg.contributes.walkthroughs[0].steps as { id: string; description: string; completionEvents: string[] }[];
  for (const s of steps) assert.doesNotMatch(s.description, /`/, `${s.id}: ${s.description}`);
  assert.deepEqual(steps.find((s) => s.id === 'rpg.train')!.completionEvents, ['onContext:rpg.hasFinishedRun']);
  const settings = Object.entries(pkg.contributes.configuration.properties as Record<string, { markdownDescription?: string }>);
  for (const [key, s] of settings) assert.doesNotMatch(s.markdownDescription ?? '', /Changing it restarts the trainer/, key);
  assert.match(settings.find(([k]) => k === 'rpg.trainer.backend')![1].markdownDescription!, /changing it offers to restart the trainer/);
});
