// The tfjs engine: trains in this process on a tfjs backend (wasm, cpu, tensorflow). It opens a
// session (backend, data, model, plan), restores a resumed run's tensors, drives the one loop
// and hands checkpoints to the run folder through the sink. It knows nothing of run folders.
import * as path from 'node:path';
import type { BackendName, RpgConfig } from '../../core/config/schema';
import { checkCheckpointPlan, CheckpointMeta, CHECKPOINT_FORMAT_VERSION } from '../../core/checkpoint/file';
import type { Engine, EngineDescription, EngineEvalJob, EngineOutcome, EngineTrainJob, EvalOutcome, RunSink } from '../../core/engine';
import { learningRate, runLength } from '../../core/train/schedule';
import { materializedHash } from '../../core/rpg/materialize';
import { selectBackend, tfjsVersion } from './backend';
import { trainLoop } from './loop';
import { Optimizer } from './optimizer';
import { evalBatchSize, evaluate, openSession, planIdentity, restoreTensors, Session, snapshotTensors } from './session';
import { describeAdapter } from './webgpu-adapter';

export const tfjsEngine: Engine = {
  name: 'tfjs',
  describe,
  train,
  evaluate: evaluateCheckpoint,
};

async function describe(preference: BackendName = 'auto'): Promise<EngineDescription> {
  const choice = await selectBackend(preference);
  return {
    engine: 'tfjs', backend: choice.name, reason: choice.reason, backends: choice.backends, threads: choice.threads, devices: choice.devices,
    deviceDetails: choice.adapters.map((a) => `WebGPU adapter: ${describeAdapter(a)}`), ...(choice.warning ? { warning: choice.warning } : {}), versions: { tfjs: tfjsVersion() },
  };
}

/** A session's optimizer, built from the config the way every tfjs training path builds it. */
export function optimizerFor(session: Session): Optimizer {
  const { config, net, materialized } = session;
  const tc = config.train;
  return new Optimizer({ name: tc.optimizer, momentum: tc.momentum, weightDecay: tc.weightDecay, normalization: config.rpg.lrNormalization }, net.variables, materialized);
}

/**
 * When a run writes checkpoints: every `checkpointEvery` steps (default: each epoch end) and,
 * whatever the epoch length, every `checkpointMinutes` of wall-clock time, so a crash in a
 * long epoch never loses more than those minutes.
 */
export function checkpointSchedule(tc: RpgConfig['train'], stepsPerEpoch: number): { checkpointEvery: number; checkpointEverySec?: number } {
  return { checkpointEvery: tc.checkpointEvery ?? stepsPerEpoch, ...(tc.checkpointMinutes > 0 ? { checkpointEverySec: tc.checkpointMinutes * 60 } : {}) };
}

async function train(job: EngineTrainJob, sink: RunSink): Promise<EngineOutcome> {
  const session = await openSession(job.config, job.configPath, job.backend);
  const optimizer = optimizerFor(session);
  try {
    const { config, net, dataset, resolved, materialized } = session;
    const tc = config.train;
    const { stepsPerEpoch, totalSteps } = runLength(tc, dataset.train.count);
    // Both engines' plan identity (materialize.ts): lets the torch engine resume a tfjs checkpoint cheaply.
    const materializedIdentity = materialized ? materializedHash(materialized) : null;
    let from;
    if (job.resume) {
      const { checkpoint: resume, file } = job.resume;
      checkCheckpointPlan(file, resume.meta, planIdentity(session));
      restoreTensors(net.state(), resume, file);
      restoreTensors(optimizer.state(), resume, file);
      optimizer.step = resume.meta.optimizerStep;
      from = { step: resume.meta.step, bestAcc: resume.meta.bestAcc, lastAcc: resume.meta.lastAcc, elapsedSec: resume.meta.elapsedSec };
      if ((resume.meta.backend ?? '') !== session.backend.name) sink.log(`note: checkpoint written on backend ${resume.meta.backend}, resuming on ${session.backend.name}; results may differ in the last bits`);
    }
    const device = session.backend.name === 'webgpu' ? session.backend.devices[0] : undefined;
    const { runDir } = sink.started({
      engine: 'tfjs', backend: session.backend.name, ...(device ? { device } : {}), arch: resolved.spec.arch, dataset: dataset.name, summary: resolved.summary, totalSteps, stepsPerEpoch, startStep: from?.step ?? 0,
    });
    sink.log(`run ${path.basename(runDir)}: ${resolved.spec.arch} on ${dataset.name}, ${resolved.summary.dof.toLocaleString('en-US')} DoF, backend ${session.backend.name}${device ? ` (${device})` : ''}, ${totalSteps} steps`);
    if (session.backend.warning) sink.log(session.backend.warning);
    const result = await trainLoop(net, optimizer, dataset, config, {
      totalSteps, stepsPerEpoch, ...(from ? { from } : {}),
      lr: (step) => learningRate(tc, step, totalSteps),
      ...(tc.evalEvery !== undefined ? { evalEvery: tc.evalEvery } : {}),
      ...checkpointSchedule(tc, stepsPerEpoch),
      ...(job.signal ? { signal: job.signal } : {}),
      onRow: (row) => sink.row(row),
      onEval: (row) => sink.evaluated(row),
      onCheckpoint: async (at) => {
        const meta: CheckpointMeta = {
          formatVersion: CHECKPOINT_FORMAT_VERSION, engine: 'tfjs', step: at.step, epoch: at.epoch, batchInEpoch: at.batchInEpoch, seed: config.seed,
          planHash: resolved.plan?.hash ?? null, planContentHash: planIdentity(session)?.contentHash ?? null, materializedHash: materializedIdentity, ringSize: resolved.plan?.ringSize ?? 0,
          backend: session.backend.name, optimizerStep: optimizer.step, bestAcc: at.bestAcc, lastAcc: at.lastAcc, elapsedSec: at.elapsedSec, config, savedAt: new Date().toISOString(),
        };
        sink.saveCheckpoint(meta, await snapshotTensors(new Map([...net.state(), ...optimizer.state()])));
      },
    });
    return { status: result.stopped ? 'stopped' : 'finished', steps: result.steps, epochs: result.steps / stepsPerEpoch, bestAcc: result.bestAcc, finalAcc: result.finalAcc, durationSec: result.elapsedSec };
  } finally {
    optimizer.dispose();
    session.net.dispose();
  }
}

async function evaluateCheckpoint(job: EngineEvalJob): Promise<EvalOutcome> {
  const session = await openSession(job.config, job.configPath, job.backend);
  try {
    const { net, dataset } = session;
    checkCheckpointPlan(job.file, job.checkpoint.meta, planIdentity(session));
    restoreTensors(net.state(), job.checkpoint, job.file);
    const r = await evaluate(net, dataset, 'test', evalBatchSize(session.config));
    return { loss: r.loss, acc: r.acc, examples: dataset.test.count, backend: session.backend.name, dataset: dataset.name };
  } finally {
    session.net.dispose();
  }
}
