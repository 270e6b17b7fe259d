// Plain-text rendering for the CLI: tables, numbers, durations, a progress bar.
import { DofSummary, kindRows } from '../core/rpg/dof';
import { isKernelKind, ParamKind } from '../core/models/spec';
import { count, percent } from '../core/format/numbers';


export function fmtDuration(sec: number): string {
  if (!Number.isFinite(sec) || sec < 0) return '--';
  const s = Math.round(sec);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const r = s % 60;
  return h ? `${h}h${String(m).padStart(2, '0')}m` : m ? `${m}m${String(r).padStart(2, '0')}s` : `${r}s`;
}

export function table(headers: string[], rows: string[][], rightAlign: boolean[] = []): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => (rightAlign[i] ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ').trimEnd();
  return [line(headers), widths.map((w) => '─'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

export function progressBar(fraction: number, width = 24): string {
  const filled = Math.round(Math.max(0, Math.min(1, fraction)) * width);
  return '█'.repeat(filled) + '░'.repeat(width - filled);
}

/** The `rpg plan` report: totals and the per-layer ring-to-layer table. */
export function formatPlan(s: DofSummary, mode: string, seed: number, hash: string | undefined, freeReasons: Readonly<Record<string, string>> = {}): string {
  const rows = s.rows.map((r) => [
    r.name,
    r.kind,
    r.shape.join('×'),
    count(r.params),
    r.generated ? 'ring' : freeReasons[r.name] && isKernelKind(r.kind as ParamKind) ? `free (${freeReasons[r.name]})` : 'free',
    r.offset !== undefined ? count(r.offset) : '',
    r.reuse !== undefined ? r.reuse.toFixed(2) : '',
    r.distinctEntries !== undefined ? count(r.distinctEntries) : '',
    r.scale !== undefined ? r.scale.toFixed(3) : '',
  ]);
  const totals = [
    `architecture       ${s.arch}`,
    `total parameters   ${count(s.totalParams)}   (the equivalent plain model)`,
    `generated          ${count(s.generatedParams)}`,
    `free               ${count(s.freeParams)}`,
    `ring size M        ${count(s.ringSize)}   (${percent(s.ringFraction, 2)} of generated)`,
    `DoF = ring + free  ${count(s.dof)}   (${percent(s.dofFraction, 2)} of total)`,
    `compression        ${s.compression.toFixed(2)}×`,
    `reuse N/M          ${s.reuse ? s.reuse.toFixed(2) : '—'}`,
    `sampling           ${mode}, seed ${seed}${hash ? `, plan ${hash}` : ''}`,
  ];
  if (s.arch.startsWith('keras:')) {
    // Keras' count_params() also counts BatchNorm's moving mean and variance (not trained).
    const moving = 2 * s.rows.filter((r) => r.kind === 'bn-gamma').reduce((n, r) => n + r.params, 0);
    totals.splice(2, 0, `Keras count_params ${count(s.totalParams + moving)}${moving ? `   (adds ${count(moving)} BatchNorm moving statistics, not trained)` : '   (the same)'}`);
  }
  const kinds = kindRows(s.rows, freeReasons).map((k) => [k.kind, count(k.params), count(k.generated), count(k.free), k.freeReasons.join(', ')]);
  const kindTable = table(['kind', 'params', 'generated', 'free', 'free because'], kinds, [false, true, true, true, false]);
  return `${totals.join('\n')}\n\n${kindTable}\n\n${table(['parameter', 'kind', 'shape', 'params', 'source', 'offset', 'reuse', 'distinct', 'scale'], rows, [false, false, false, true, false, true, true, true, true])}`;
}
