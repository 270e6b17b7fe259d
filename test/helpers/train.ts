// Tests start and resume runs the way the CLI and the trainer do: through core/runs over the
// engine registry. One call shape for both, as the old train() had.
import type { ResumeOptions, RunResult, TrainEvents, TrainOptions } from '../../src/core/engine';
import { resumeRun, trainRun } from '../../src/core/runs/train-run';
import { engineFor } from '../../src/engines';

export function train(options: TrainOptions | (ResumeOptions & { resumeFrom?: undefined }) | (Partial<TrainOptions> & { resumeFrom: string }), events: TrainEvents = {}): Promise<RunResult> {
  if ('resumeFrom' in options && options.resumeFrom) return resumeRun(engineFor, { runDir: options.resumeFrom, ...(options.backend ? { backend: options.backend } : {}), ...(options.signal ? { signal: options.signal } : {}) }, events);
  return trainRun(engineFor, options as TrainOptions, events);
}
