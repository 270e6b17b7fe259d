// `rpg sweep CONFIG --dof 100,300,1000 [--repeats N] [--baselines [width,subspace,hashed]] [--target 0.95]`.
import * as path from 'node:path';
import { backendFlag, flagString, loadConfigOrThrow, ParsedArgs, UsageError } from '../args';
import { fmtDuration, table } from '../format';
import { count, percent } from '../../core/format/numbers';
import { aggregatePoints, BASELINE_KINDS, BaselineKind, DEFAULT_DOFS, runSweep, SweepFile } from '../../sweep/index';
import { measuredCrossing } from '../../core/sweep/stats';
import { modelLabel } from '../../core/models/architectures';

const out = (s: string) => process.stdout.write(s + '\n');

function parseList(text: string, flag: string): number[] {
  const values = text.split(',').map((s) => s.trim()).filter(Boolean).map((s) => {
    const m = /^(\d+(?:\.\d+)?)([kK]?)$/.exec(s);
    if (!m) throw new UsageError(`${flag}: "${s}" is not a number`);
    return Math.round(parseFloat(m[1]!) * (m[2] ? 1000 : 1));
  });
  if (!values.length) throw new UsageError(`${flag} needs a comma-separated list, e.g. 100,300,1000`);
  return values;
}

function parseBaselines(text: string): BaselineKind[] {
  const kinds = text.split(',').map((k) => k.trim()).filter(Boolean).map((k) => (k === 'hashednets' ? 'hashed' : k));
  for (const k of kinds) if (!(BASELINE_KINDS as readonly string[]).includes(k)) throw new UsageError(`--baselines: "${k}" is not a baseline; choose from ${BASELINE_KINDS.join(', ')} (or give --baselines alone for all)`);
  return kinds as BaselineKind[];
}

function positiveNumber(args: ParsedArgs, name: string, fallback: number): number {
  const v = flagString(args, name);
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new UsageError(`--${name} must be a positive number, got "${v}"`);
  return n;
}

/** Per kind, where its seed-mean accuracy first reaches `target` (measuredCrossing). */
function crossings(s: SweepFile, target: number): string {
  const aggregates = s.aggregates ?? aggregatePoints(s.points);
  const kinds = [...new Set(aggregates.map((a) => a.kind))].filter((k) => k !== 'width');
  return kinds
    .map((kind) => {
      const c = measuredCrossing(aggregates.filter((a) => a.kind === kind).map((a) => ({ dof: a.dof, mean: a.finalAcc.mean })), target);
      const name = kind === 'hashed' ? 'hashednets' : kind;
      if (!c) return `${name} not reached`;
      return c.below === undefined ? `${name} at M ≤ ${count(c.dof)}` : `${name} M ≈ ${count(c.dof)} (between ${count(c.below)} and ${count(c.above)})`;
    })
    .join('; ');
}

export function formatSweep(s: SweepFile): string {
  const rows = [
    ...(s.reference ? [['plain', count(s.reference.params), count(s.reference.params), String(s.reference.seed), percent(s.reference.bestAcc, 2), percent(s.reference.finalAcc, 2), '100.0%', fmtDuration(s.reference.durationSec)]] : []),
    ...s.points.map((p) => [
      p.kind === 'width' ? `width ×${p.width}` : p.kind === 'hashed' ? 'hashednets' : p.kind,
      p.kind === 'width' ? '—' : count(p.dof),
      count(p.totalDof),
      String(p.seed),
      percent(p.bestAcc, 2),
      percent(p.finalAcc, 2),
      percent(p.fractionOfReference, 1),
      fmtDuration(p.durationSec),
    ]),
  ];
  const lines = [table(['kind', 'M', 'trained DoF', 'seed', 'best', 'final', 'of plain', 'time'], rows, [false, true, true, true, true, true, true, true])];
  // Repeated seeds: mean ± sample std per kind and M.
  const repeated = (s.aggregates ?? []).filter((a) => a.seeds > 1);
  if (repeated.length) {
    const pp = (v: number) => (v * 100).toFixed(2);
    lines.push('');
    lines.push(table(['kind', 'M', 'trained DoF', 'seeds', 'final (mean ± std)', 'best (mean ± std)'], repeated.map((a) => [a.kind === 'hashed' ? 'hashednets' : a.kind, a.kind === 'width' ? '—' : count(a.dof), count(a.totalDof), String(a.seeds), `${pp(a.finalAcc.mean)} ± ${pp(a.finalAcc.std)}%`, `${pp(a.bestAcc.mean)} ± ${pp(a.bestAcc.std)}%`]), [false, true, true, true, true, true]));
  }
  if (s.fit) lines.push(`fit over RPG points: accuracy ≈ ${(s.fit.a * 100).toFixed(2)}% + ${(s.fit.b * 100).toFixed(2)}% · ln(M)   (R² = ${s.fit.r2.toFixed(3)})`);
  if (s.predict) {
    lines.push(
      s.predict.dof !== null
        ? `${percent(s.predict.target, 0)} of the plain model (${percent(s.predict.targetAcc, 2)}) predicted at M ≈ ${count(s.predict.dof)}`
        : `${percent(s.predict.target, 0)} of the plain model (${percent(s.predict.targetAcc, 2)}): no prediction (the fit's slope is not positive)`,
    );
    lines.push(`${percent(s.predict.target, 0)} of the plain model, measured (seed means, interpolated in ln M between the sizes around it): ${crossings(s, s.predict.targetAcc)}`);
  }
  return lines.join('\n');
}

export async function sweepCommand(args: ParsedArgs): Promise<number> {
  let configFile = args.positional[0];
  const baselinesFlag = args.flags.get('baselines');
  let baselines: boolean | BaselineKind[] = baselinesFlag !== undefined;
  if (typeof baselinesFlag === 'string') {
    if (!configFile && !/^[a-z,\s]+$/.test(baselinesFlag)) configFile = baselinesFlag; // `--baselines CONFIG`
    else baselines = parseBaselines(baselinesFlag);
  }
  const config = loadConfigOrThrow(configFile);
  const dofText = flagString(args, 'dof');
  const dofs = dofText ? parseList(dofText, '--dof') : DEFAULT_DOFS;
  const repeats = positiveNumber(args, 'repeats', 1);
  if (!Number.isInteger(repeats)) throw new UsageError(`--repeats must be an integer, got ${repeats}`);
  const target = positiveNumber(args, 'target', 0.95);
  if (flagString(args, 'epochs')) config.train.epochs = Math.round(positiveNumber(args, 'epochs', config.train.epochs));
  const runsDir = path.resolve(flagString(args, 'runs') ?? path.join(path.dirname(path.resolve(configFile!)), 'runs'));
  const controller = new AbortController();
  const onSigint = () => {
    process.stderr.write('\nstopping the sweep after this step (the finished points are kept in sweep.json)\n');
    controller.abort();
  };
  process.on('SIGINT', onSigint);
  process.on('SIGTERM', onSigint);
  const backend = backendFlag(args);
  try {
    const result = await runSweep(
      { config, configPath: path.resolve(configFile!), runsDir, dofs, repeats, baselines, target, ...(backend ? { backend } : {}), signal: controller.signal },
      {
        onStart: (s) => out(`sweep of ${modelLabel(config.model)} on ${config.data.dataset}: ${s.total} runs of ${config.train.epochs} epoch(s); folder ${s.dir}`),
        onLog: (m) => out(m),
        onPointDone: (_info, p) => out(`  → final test accuracy ${percent(p.finalAcc, 2)} (best ${percent(p.bestAcc, 2)}) in ${fmtDuration(p.durationSec)}`),
      },
    );
    out('');
    out(formatSweep(result.sweep));
    out('');
    out(result.plot);
    out('');
    out(`${result.sweep.status} in ${fmtDuration(result.sweep.durationSec)}; wrote ${result.file} and ${result.svg}`);
    return result.sweep.status === 'finished' ? 0 : 130;
  } finally {
    process.off('SIGINT', onSigint);
    process.off('SIGTERM', onSigint);
  }
}
