// The CLI's jobs through the trainer (issue 18, "every CLI job has a palette command"): eval,
// compress, export and a DoF sweep run in the real trainer process with progress and a result,
// a sweep can be cancelled (its finished points stay), and bad requests name their field.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { jobCancelRequest, JobResult, jobStartRequest, trainStartRequest } from '../../src/protocol';
import { initialize, killAll, removeDir, startTrainer, tempDir, tinyConfig } from './trainer-harness';

const runsDir = tempDir('jobs');
after(() => {
  killAll();
  removeDir(runsDir);
});

const trainer = startTrainer();

const resultOf = async (jobId: string): Promise<JobResult> => {
  const end = await trainer.next('job/finished', (p) => p.jobId === jobId, 300_000).catch(async (err) => {
    const failed = trainer.received.find((r) => r.method === 'job/failed' && r.params.jobId === jobId);
    throw failed ? new Error(`job failed: ${JSON.stringify(failed.params)}`) : err;
  });
  return end.params.result as JobResult;
};

test('eval, compress and export a trained run through the trainer, with progress and results', async () => {
  await initialize(trainer);
  const { runId } = await trainer.client.request(trainStartRequest, { runsDir, text: tinyConfig({ epochs: 2 }) });
  const done = await trainer.next('train/finished', (p) => p.runId === runId, 120_000);
  const runDir = done.params.runDir as string;
  const finalAcc = done.params.finalAcc as number;

  const evalJob = await trainer.client.request(jobStartRequest, { kind: 'eval', target: runDir });
  const evaluated = await resultOf(evalJob.jobId);
  assert.equal(evaluated.kind, 'eval');
  if (evaluated.kind === 'eval') {
    // The checkpoint is the run's last step: its test accuracy is the run's final one.
    assert.ok(Math.abs(evaluated.acc - finalAcc) < 1e-6, `eval ${evaluated.acc} vs the run's final ${finalAcc}`);
    assert.equal(evaluated.examples, 128);
  }
  assert.ok(trainer.of('job/progress').some((p) => p.params.jobId === evalJob.jobId), 'progress reported');

  const compressJob = await trainer.client.request(jobStartRequest, { kind: 'compress', runDir, prune: 0.5, bits: 4 });
  const compressed = await resultOf(compressJob.jobId);
  assert.equal(compressed.kind, 'compress');
  if (compressed.kind === 'compress') {
    assert.ok(existsSync(compressed.file) && statSync(compressed.file).size === compressed.bytes, compressed.file);
    assert.equal(path.dirname(compressed.file), runDir);
    assert.ok(compressed.kept < compressed.ringSize && compressed.bits === 4 && compressed.bytes < compressed.plainBytes);
    // Eval takes the .rpgz too.
    const again = await resultOf((await trainer.client.request(jobStartRequest, { kind: 'eval', target: compressed.file })).jobId);
    assert.ok(again.kind === 'eval' && Math.abs(again.acc - compressed.after) < 1e-9, 'the file evaluates as compress measured it');
  }

  const exported = await resultOf((await trainer.client.request(jobStartRequest, { kind: 'export', source: runDir, format: 'tfjs' })).jobId);
  assert.equal(exported.kind, 'export');
  if (exported.kind === 'export') {
    assert.equal(exported.dir, path.join(runDir, 'tfjs'));
    assert.ok(existsSync(path.join(exported.dir, 'model.json')));
    assert.equal(exported.agreement, 1);
  }
});

test('a sweep reports each run it starts and its fit; cancelling one keeps its finished points', async () => {
  const text = tinyConfig({ maxSteps: 6, epochs: 1 }, { name: 'sweep-me' });
  const { jobId } = await trainer.client.request(jobStartRequest, { kind: 'sweep', runsDir, text, dofs: [200, 800, 2000] });
  const result = await resultOf(jobId);
  assert.ok(result.kind === 'sweep' && result.status === 'finished' && result.points === 4, JSON.stringify(result));
  if (result.kind === 'sweep') {
    assert.ok(result.fit && Number.isFinite(result.fit.r2), 'a fit over three ring sizes');
    const sweep = JSON.parse(readFileSync(result.file, 'utf8')) as { points: unknown[] };
    assert.equal(sweep.points.length, 3);
  }
  const started = trainer.of('job/progress').filter((p) => p.params.jobId === jobId && typeof p.params.runDir === 'string');
  assert.equal(new Set(started.map((p) => p.params.runDir)).size, 4, 'every run of the sweep is announced (plain + 3 ring sizes)');

  // Cancel as soon as the second run starts: the first stays, the sweep ends "stopped" or failed as cancelled.
  const long = tinyConfig({ epochs: 100_000 }, { name: 'sweep-cancel' });
  const second = await trainer.client.request(jobStartRequest, { kind: 'sweep', runsDir, text: long, dofs: [200, 800] });
  await trainer.next('job/progress', (p) => p.jobId === second.jobId && /^run 1\/3/.test(String(p.message)) && typeof p.runDir === 'string', 60_000);
  assert.deepEqual(await trainer.client.request(jobCancelRequest, { jobId: second.jobId }), { cancelled: true });
  const ended = await Promise.any(['job/finished', 'job/failed'].map((m) => trainer.next(m, (p) => p.jobId === second.jobId, 120_000)));
  if (ended.method === 'job/finished') assert.equal((ended.params.result as { status: string }).status, 'stopped');
  else assert.equal(ended.params.code, 'cancelled', JSON.stringify(ended.params));
});

test('bad job requests are errors naming their field', async () => {
  const bad = async (params: object, field: string) => {
    const err = await trainer.client.request(jobStartRequest, params as never).then(() => undefined, (e: { data?: { field?: string } }) => e);
    assert.equal(err?.data?.field, field, JSON.stringify(params));
  };
  await bad({ kind: 'compress', runDir: runsDir, prune: 1.5, bits: 4 }, 'prune');
  await bad({ kind: 'compress', runDir: runsDir, prune: 0.5, bits: 12 }, 'bits');
  await bad({ kind: 'sweep', runsDir, text: tinyConfig(), dofs: [] }, 'dofs');
  await bad({ kind: 'export', source: runsDir, format: 'onnx' }, 'format');
  await bad({ kind: 'train' }, 'kind');
  assert.deepEqual(await trainer.client.request(jobCancelRequest, { jobId: 'job-999' }), { cancelled: false });
  await trainer.close();
});
