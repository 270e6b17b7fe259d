// Rows of the quick picks that choose runs, kept free of vscode so they can be tested directly.
import { epochOf, percent } from './format';
import type { RunInfo } from './runs';

/** The Stop picker's rows: each run by its experiment's name, with what it is doing and its id once. */
export function stopPickItems(active: readonly RunInfo[]): { label: string; description?: string; runs: RunInfo[] }[] {
  const doing = (r: RunInfo) => (r.status === 'queued' ? 'queued' : r.live ? `${epochOf(r.live.epoch, r.live.totalEpochs)} · ${percent(r.live.progress, 0)}` : 'starting');
  return [{ label: 'Stop all runs', description: `${active.length} run${active.length === 1 ? '' : 's'}`, runs: [...active] }, ...active.map((r) => ({ label: r.name, description: `${doing(r)} · ${r.runId}`, runs: [r] }))];
}
