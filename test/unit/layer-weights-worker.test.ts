// The extension's layer weights worker (dist/layer-weights-worker.js driven by its client): the
// same answers and errors as layerWeightsFor in-process, waiting requests newest first,
// cancelLane, a killed worker failing its request with a clear error and the next request
// starting a new one, the idle stop, and dispose.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from 'node:worker_threads';
import { LayerWeightsOutcome, LayerWeightsWorker, LayerWeightsWorkerOptions } from '../../src/extension/layer-weights/client';
import type { LayerWeightsResult } from '../../src/core/experiment/types';
import { REQUEST_FAILED } from '../../src/protocol';
import { layerWeightsFor } from '../../src/core/experiment/planning';
import { ensureBuilt } from '../helpers/build';

const SCRIPT = ensureBuilt('layer-weights-worker');

function configText(sampling: 'ring' | 'shuffled'): string {
  return JSON.stringify({ name: `lenet-${sampling}`, seed: 5, model: { arch: 'lenet5' }, rpg: { dof: '7%', sampling }, data: { dataset: 'mnist-embedded' } });
}

/** A client whose spawned threads the test can reach (to kill them) and count. */
function client(options: Partial<LayerWeightsWorkerOptions> = {}): { lw: LayerWeightsWorker; threads: Worker[] } {
  const threads: Worker[] = [];
  const lw = new LayerWeightsWorker({
    script: SCRIPT,
    spawn: (script) => {
      const w = new Worker(script, { execArgv: [] });
      threads.push(w);
      return w;
    },
    ...options,
  });
  return { lw, threads };
}

/** Runs `body` with a fresh client (see client()) and disposes it afterwards, pass or fail. */
async function withClient(body: (c: { lw: LayerWeightsWorker; threads: Worker[] }) => Promise<void>, options: Partial<LayerWeightsWorkerOptions> = {}): Promise<void> {
  const c = client(options);
  try {
    await body(c);
  } finally {
    c.lw.dispose();
  }
}

/** Asks for a layer of `text`, at most 200 values, in `lane`. */
function asker(lw: LayerWeightsWorker, text: string): (layer: string, lane: string) => Promise<LayerWeightsOutcome> {
  return (layer, lane) => lw.request({ text, layer, maxValues: 200 }, lane);
}

function resultOf(outcome: LayerWeightsOutcome): LayerWeightsResult {
  assert.equal(outcome.kind, 'result', JSON.stringify(outcome));
  return (outcome as { result: LayerWeightsResult }).result;
}

/** Polls a condition (no timing is asserted: the deadline only bounds a broken build). */
async function until(what: string, condition: () => boolean, deadlineMs = 20_000): Promise<void> {
  const end = Date.now() + deadlineMs;
  while (!condition()) {
    if (Date.now() > end) throw new Error(`still waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

test('the worker answers exactly as layerWeightsFor in-process, errors included', async () => {
  const lw = new LayerWeightsWorker({ script: SCRIPT }); // the extension's own way to start it
  try {
    for (const sampling of ['ring', 'shuffled'] as const) {
      const text = configText(sampling);
      for (const layer of ['conv1.kernel', 'fc2.kernel', 'conv2']) {
        for (const maxValues of [1e9, 300]) {
          const params = { text, layer, maxValues };
          assert.deepEqual(resultOf(await lw.request(params)), layerWeightsFor(params), `${sampling} ${layer} ${maxValues}`);
        }
      }
    }
    // A ResponseError as the trainer's request gives: code, message and the field at fault.
    await assert.rejects(lw.request({ text: configText('ring'), layer: 'conv9' }), (e: Error & { code?: number; data?: { field?: string } }) => {
      assert.equal(e.code, REQUEST_FAILED);
      assert.equal(e.data?.field, 'layer');
      assert.match(e.message, /"conv9" is not a generated layer.*conv1\.kernel/);
      return true;
    });
    // A bad config names its field, and the worker goes on answering.
    await assert.rejects(lw.request({ text: '{"model": {"arch": "nope"}}', layer: 'conv1' }), (e: Error & { code?: number }) => e.code === REQUEST_FAILED);
    assert.equal(resultOf(await lw.request({ text: configText('ring'), layer: 'fc1.kernel' })).layer, 'fc1.kernel');
  } finally {
    lw.dispose();
  }
});

test('waiting requests run newest first, and every one completes (the webview asks each layer once)', () =>
  withClient(async ({ lw, threads }) => {
    const text = configText('shuffled');
    const ask = asker(lw, text);
    const done: string[] = [];
    const track = (p: Promise<LayerWeightsOutcome>) => p.then((o) => (done.push(resultOf(o).layer), resultOf(o)));
    const running = track(ask('conv1.kernel', 'panel')); // sent to the worker at once
    const others = [track(ask('conv2.kernel', 'panel')), track(ask('fc1.kernel', 'other')), track(ask('fc2.kernel', 'panel'))];
    const last = track(ask('fc3.kernel', 'panel'));
    assert.deepEqual(await last, layerWeightsFor({ text, layer: 'fc3.kernel', maxValues: 200 }));
    await Promise.all([running, ...others]);
    assert.deepEqual(done, ['conv1.kernel', 'fc3.kernel', 'fc2.kernel', 'fc1.kernel', 'conv2.kernel']);
    assert.equal(threads.length, 1, 'one worker answers every request');
  }));

test('a killed worker fails its request with a clear error; waiting and later requests start a new one', () =>
  withClient(async ({ lw, threads }) => {
    const text = configText('ring');
    const killed = lw.request({ text, layer: 'conv2.kernel' }, 'a');
    const waiting = lw.request({ text, layer: 'fc1.kernel', maxValues: 100 }, 'b');
    assert.equal(threads.length, 1);
    void threads[0]!.terminate();
    await assert.rejects(killed, (e: Error) => {
      assert.match(e.message, /layer weights worker stopped \(exit code \d+\) while computing conv2\.kernel; asking again starts a new one/);
      return true;
    });
    assert.equal(resultOf(await waiting).layer, 'fc1.kernel');
    assert.deepEqual(resultOf(await lw.request({ text, layer: 'conv2.kernel' }, 'a')), layerWeightsFor({ text, layer: 'conv2.kernel' }));
    assert.equal(threads.length, 2, 'a new worker after the crash');
  }));

test('a worker that throws outside a request is reported with its error', async () => {
  // A thread that dies on its first message: the error's own text reaches the request.
  const lw = new LayerWeightsWorker({
    script: SCRIPT,
    spawn: () => new Worker(`require('node:worker_threads').parentPort.on('message', () => { throw new Error('out of memory (simulated)'); });`, { eval: true }),
  });
  try {
    await assert.rejects(lw.request({ text: configText('ring'), layer: 'conv1' }), /stopped \(exit code 1: out of memory \(simulated\)\) while computing conv1/);
  } finally {
    lw.dispose();
  }
});

test('an idle worker stops, and the next request starts another', () =>
  withClient(async ({ lw, threads }) => {
    const text = configText('ring');
    assert.equal(lw.started, false, 'started lazily');
    assert.equal(resultOf(await lw.request({ text, layer: 'conv1.kernel' })).layer, 'conv1.kernel');
    await until('the idle stop', () => !lw.started);
    assert.equal(resultOf(await lw.request({ text, layer: 'conv2.kernel' })).layer, 'conv2.kernel');
    assert.equal(threads.length, 2);
  }, { idleMs: 20 }));

test('dispose drops the running and waiting requests and stops the worker', async () => {
  const { lw, threads } = client();
  const text = configText('shuffled');
  const running = lw.request({ text, layer: 'conv1.kernel' }, 'a');
  const waiting = lw.request({ text, layer: 'conv2.kernel' }, 'b');
  let exited = false;
  threads[0]!.once('exit', () => (exited = true));
  lw.dispose();
  assert.deepEqual(await running, { kind: 'dropped', reason: 'disposed' });
  assert.deepEqual(await waiting, { kind: 'dropped', reason: 'disposed' });
  assert.deepEqual(await lw.request({ text, layer: 'conv1.kernel' }), { kind: 'dropped', reason: 'disposed' });
  assert.equal(lw.started, false);
  await until('the worker to exit', () => exited);
  assert.equal(threads.length, 1, 'nothing restarts after dispose');
});

test('cancelLane drops the waiting requests of a closed panel; the running one and other lanes complete', () =>
  withClient(async ({ lw }) => {
    const ask = asker(lw, configText('ring'));
    const running = ask('conv1.kernel', 'closed'); // starts at once
    const waiting = ask('conv2.kernel', 'closed');
    const other = ask('fc1.kernel', 'open');
    const waitingToo = ask('fc2.kernel', 'closed');
    lw.cancelLane('closed');
    assert.deepEqual(await waiting, { kind: 'dropped', reason: 'disposed' });
    assert.deepEqual(await waitingToo, { kind: 'dropped', reason: 'disposed' });
    assert.equal(resultOf(await running).layer, 'conv1.kernel');
    assert.equal(resultOf(await other).layer, 'fc1.kernel');
    lw.cancelLane('nobody'); // a lane with nothing waiting: no effect
  }));
