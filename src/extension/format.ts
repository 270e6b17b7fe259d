// How numbers, durations and shapes read in the UI: one place, so the status bar, the trees
// and the CodeLens agree.
export { count, duration, percent, ratio } from '../core/format/numbers';

export function shape(dims: readonly number[]): string {
  return dims.length ? dims.join('×') : 'scalar';
}

/** "epoch 3/10": the epoch in progress, counted from 1. */
export function epochOf(epoch: number, totalEpochs: number): string {
  const current = Math.min(Math.max(1, Math.floor(epoch) + 1), Math.max(1, totalEpochs));
  return `epoch ${current}/${totalEpochs}`;
}
