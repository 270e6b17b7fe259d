// The ring mapping's layer detail request, timed as the panel makes it: through the extension's
// worker (dist/layer-weights-worker.js) and, for comparison, in-process. Wall ms of the first
// request (worker start + plan + the plan's draws) and of a second one for another layer, and
// how long the calling thread's event loop was blocked meanwhile (the extension host's freeze).
//   node --import tsx bench/layer-weights-request.ts CONFIG.rpg.json [LAYER_A LAYER_B] [--no-in-process]
import { readFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { LayerWeightsWorker } from '../src/extension/layer-weights/client';
import { layerWeightsFor, planFor } from '../src/core/experiment/planning';
import { ensureBuilt } from '../test/helpers/build';

async function timed<T>(run: () => Promise<T> | T): Promise<{ ms: number; blockedMs: number }> {
  const loop = monitorEventLoopDelay({ resolution: 10 });
  loop.enable();
  const t = performance.now();
  await run();
  const ms = performance.now() - t;
  loop.disable();
  return { ms, blockedMs: loop.max / 1e6 };
}

async function main(): Promise<void> {
  const configPath = path.resolve(process.argv[2] ?? 'examples/resnet18-imagenet-18pct.rpg.json');
  const text = readFileSync(configPath, 'utf8');
  const plan = planFor({ text, configPath });
  const names = process.argv.slice(3).filter((x) => !x.startsWith('--'));
  const [a, b] = [names[0] ?? plan.layers[Math.floor(plan.layers.length / 4)]!.name, names[1] ?? plan.layers[plan.layers.length - 2]!.name];
  const params = (layer: string) => ({ text, configPath, layer, maxValues: 128 * 128 });
  const show = (what: string, r: { ms: number; blockedMs: number }) => console.log(`${what}: ${r.ms.toFixed(0)} ms wall, event loop blocked up to ${r.blockedMs.toFixed(0)} ms`);
  console.log(`${plan.name}: ${plan.mode}, ${plan.layers.length} generated layers, M = ${plan.ringSize}; A = ${a}, B = ${b}; load ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}`);
  const worker = new LayerWeightsWorker({ script: ensureBuilt('layer-weights-worker') });
  try {
    show('worker, first request (A)', await timed(() => worker.request(params(a))));
    show('worker, second request (B)', await timed(() => worker.request(params(b))));
  } finally {
    worker.dispose();
  }
  if (!process.argv.includes('--no-in-process')) {
    // Synchronous: the calling thread is blocked for all of it (the loop monitor cannot see that).
    const sync = (what: string, layer: string) => {
      const t = performance.now();
      layerWeightsFor(params(layer));
      console.log(`${what}: ${(performance.now() - t).toFixed(0)} ms wall, all of it blocking the calling thread`);
    };
    sync('in-process, first request (A)', a);
    sync('in-process, second request (B)', b);
  }
  console.log(`load ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}`);
}

void main();
