import type { PanelDeps, TrainingEvent } from './index';

export async function showTrainingCurves(_deps: PanelDeps, _runDirs?: string[]): Promise<void> {
  throw new Error('not implemented yet');
}

export function postTrainingEvent(_e: TrainingEvent): void {}
