// The torch engine through the background trainer, over real JSON-RPC, as the extension drives
// it: initialize names the interpreter, train/start with engine "torch" reports the same events
// as a tfjs run (started with engine and device, progress, evaluated, checkpoint, finished), and
// train/stop ends a torch run at a checkpoint. Skipped (with the reason) only when
// /usr/bin/python3 lacks torch and RPG_REQUIRE_TORCH is not 1.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { readCheckpoint } from '../../src/core/checkpoint/file';
import { initializeRequest, PROTOCOL_VERSION, trainStartRequest, trainStopRequest } from '../../src/protocol';
import { PYTHON, torchUnavailable } from '../helpers/torch';
import { killAll, removeDir, startTrainer, tempDir } from './trainer-harness';

const skip = torchUnavailable();
after(killAll);

/** A torch process starts in seconds on an idle machine; a loaded CI machine gets minutes. */
const BOUND_MS = 600_000;

const config = (epochs: number) =>
  JSON.stringify({ name: 'torch-rpc', seed: 3, model: { arch: 'mlp', hidden: [32] }, rpg: { dof: '10%' }, data: { dataset: 'mnist-embedded', trainSize: 1024, testSize: 128 }, train: { engine: 'torch', batchSize: 32, epochs } });

test('a torch run through the trainer: the same events as a tfjs run, and train/stop ends it at a checkpoint', { skip }, async () => {
  const trainer = startTrainer();
  const runsDir = tempDir('torch');
  try {
    const init = await trainer.client.request(initializeRequest, { clientName: 'torch-tests', protocolVersion: PROTOCOL_VERSION, python: PYTHON });
    assert.ok(init.pid > 0);

    const { runId } = await trainer.client.request(trainStartRequest, { text: config(1), runsDir });
    const started = await trainer.next('train/started', (p) => p.runId === runId, BOUND_MS);
    assert.equal(started.params.engine, 'torch');
    assert.equal(started.params.backend, 'cpu');
    assert.equal(typeof started.params.device, 'string');
    const finished = await trainer.next('train/finished', (p) => p.runId === runId, BOUND_MS);
    assert.equal(finished.params.status, 'finished');
    assert.equal(finished.params.steps, 32);
    assert.ok(trainer.of('train/progress', runId).length > 0, 'progress was relayed');
    assert.ok(trainer.of('train/evaluated', runId).length >= 1, 'the evaluation was relayed');
    const ckpts = trainer.of('train/checkpoint', runId);
    assert.ok(ckpts.length >= 1 && ckpts.at(-1)!.params.step === 32, 'the checkpoint was relayed');
    const runDir = String(finished.params.runDir);
    const record = JSON.parse(readFileSync(path.join(runDir, 'run.json'), 'utf8'));
    assert.deepEqual([record.status, record.engine, record.step], ['finished', 'torch', 32]);

    // Stop: the child finishes its step, writes a checkpoint, and the run ends "stopped".
    const long = await trainer.client.request(trainStartRequest, { text: config(40), runsDir });
    await trainer.next('train/progress', (p) => p.runId === long.runId, BOUND_MS);
    await trainer.client.request(trainStopRequest, { runId: long.runId });
    const stopped = await trainer.next('train/finished', (p) => p.runId === long.runId, BOUND_MS);
    assert.equal(stopped.params.status, 'stopped');
    assert.ok((stopped.params.steps as number) < 40 * 32);
    assert.equal(readCheckpoint(String(stopped.params.runDir)).meta.step, stopped.params.steps);
    assert.equal(JSON.parse(readFileSync(path.join(String(stopped.params.runDir), 'run.json'), 'utf8')).status, 'stopped');
  } finally {
    await trainer.close();
    removeDir(runsDir);
  }
});
