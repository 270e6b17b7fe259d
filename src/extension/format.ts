// How numbers, durations and shapes read in the UI: one place, so the status bar, the trees
// and the CodeLens agree.
export { count, percent, ratio } from '../core/format/numbers';

export function shape(dims: readonly number[]): string {
  return dims.length ? dims.join('×') : 'scalar';
}

export function duration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '–';
  if (seconds < 60) return `${seconds.toFixed(seconds < 10 ? 1 : 0)} s`;
  const m = Math.floor(seconds / 60);
  const s = Math.round(seconds % 60);
  if (m < 60) return `${m} min ${s} s`;
  return `${Math.floor(m / 60)} h ${m % 60} min`;
}

/** "epoch 3/10": the epoch in progress, counted from 1. */
export function epochOf(epoch: number, totalEpochs: number): string {
  const current = Math.min(Math.max(1, Math.floor(epoch) + 1), Math.max(1, totalEpochs));
  return `epoch ${current}/${totalEpochs}`;
}
