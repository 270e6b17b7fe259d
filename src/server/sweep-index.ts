// Finished DoF sweeps in the workspace (`sweep.json`, written by src/sweep) and the accuracy
// their fit predicts: accuracy ≈ a + b·ln(M), M the ring size, accuracy a fraction. The index scans the workspace folders
// in the background, is invalidated by file-change notifications and re-scans periodically, so
// a diagnostic pass only ever does a map lookup.
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { predictAcc } from '../core/sweep/fit';

export interface SweepPoint {
  /** Ring size M of an RPG point (the fit's x axis). */
  readonly dof: number;
  readonly ringSize?: number;
  readonly bestAcc?: number;
  readonly finalAcc?: number;
}

export interface SweepFit {
  readonly a: number;
  readonly b: number;
  readonly r2: number;
}

export interface Sweep {
  readonly file: string;
  readonly arch: string;
  readonly dataset: string;
  readonly fit: SweepFit;
  readonly points: readonly SweepPoint[];
  readonly mtimeMs: number;
}

const finite = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/** Reads a sweep.json; undefined for anything that is not a finished sweep with a fit. */
export function parseSweep(text: string, file: string, mtimeMs: number): Sweep | undefined {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof raw !== 'object' || raw === null) return undefined;
  const r = raw as Record<string, unknown>;
  const fit = r.fit as Record<string, unknown> | undefined;
  if (typeof r.arch !== 'string' || typeof r.dataset !== 'string' || !fit || !finite(fit.a) || !finite(fit.b)) return undefined;
  const points = Array.isArray(r.points)
    ? r.points.flatMap((p): SweepPoint[] => {
        const q = p as Record<string, unknown> | null;
        // Baselines (width, subspace) share the file but not the fit.
        if (!q || !finite(q.dof) || (q.kind !== undefined && q.kind !== 'rpg')) return [];
        return [{ dof: q.dof, ...(finite(q.ringSize) ? { ringSize: q.ringSize } : {}), ...(finite(q.bestAcc) ? { bestAcc: q.bestAcc } : {}), ...(finite(q.finalAcc) ? { finalAcc: q.finalAcc } : {}) }];
      })
    : [];
  return { file, arch: r.arch, dataset: r.dataset, fit: { a: fit.a, b: fit.b, r2: finite(fit.r2) ? fit.r2 : NaN }, points, mtimeMs };
}

export interface Prediction {
  /** Predicted accuracy as a fraction in [0, 1]. */
  readonly accuracy: number;
  /** True when the ring size lies outside the range the sweep measured. */
  readonly extrapolated: boolean;
  readonly range: readonly [number, number] | undefined;
}

/** Evaluates the fit at ring size `ringSize`, clamped to [0, 1]. */
export function predictAccuracy(sweep: Sweep, ringSize: number): Prediction | undefined {
  if (!(ringSize > 0)) return undefined;
  const raw = predictAcc(sweep.fit, ringSize);
  if (!Number.isFinite(raw)) return undefined;
  const accuracy = Math.min(1, Math.max(0, raw));
  const dofs = sweep.points.map((p) => p.dof);
  const range = dofs.length ? ([Math.min(...dofs), Math.max(...dofs)] as const) : undefined;
  const extrapolated = range ? ringSize < range[0] || ringSize > range[1] : true;
  return { accuracy, extrapolated, range };
}

export interface SweepLookup {
  find(arch: string, dataset: string): Sweep | undefined;
}

export interface SweepIndexOptions {
  readonly roots: readonly string[];
  /** Periodic re-scan interval; 0 disables it (change notifications still invalidate). */
  readonly rescanMs: number;
  readonly maxDepth?: number;
  readonly maxDirectories?: number;
  /** Called after a scan whose result differs from the previous one. */
  readonly onChange?: () => void;
}

const SKIPPED_FOLDERS = new Set(['node_modules', '.git']);

export class SweepIndex implements SweepLookup {
  private sweeps: Sweep[] = [];
  private signature = '';
  private scanning: Promise<void> | undefined;
  private rescanRequested = false;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly options: SweepIndexOptions) {
    if (options.rescanMs > 0) {
      this.timer = setInterval(() => this.refresh(), options.rescanMs);
      this.timer.unref();
    }
  }

  /** The newest finished sweep for this architecture and dataset. */
  find(arch: string, dataset: string): Sweep | undefined {
    let best: Sweep | undefined;
    for (const s of this.sweeps) if (s.arch === arch && s.dataset === dataset && (!best || s.mtimeMs > best.mtimeMs)) best = s;
    return best;
  }

  get all(): readonly Sweep[] {
    return this.sweeps;
  }

  /** Starts a scan (or queues one after the running scan); resolves when the index is fresh. */
  refresh(): Promise<void> {
    if (this.scanning) {
      this.rescanRequested = true;
      return this.scanning;
    }
    this.scanning = this.scan().finally(() => {
      this.scanning = undefined;
      if (this.rescanRequested) {
        this.rescanRequested = false;
        void this.refresh();
      }
    });
    return this.scanning;
  }

  dispose(): void {
    if (this.timer) clearInterval(this.timer);
  }

  private async scan(): Promise<void> {
    const files: string[] = [];
    const maxDepth = this.options.maxDepth ?? 8;
    let budget = this.options.maxDirectories ?? 5000;
    const walk = async (dir: string, depth: number): Promise<void> => {
      if (depth > maxDepth || budget-- <= 0) return;
      let entries;
      try {
        entries = await fsp.readdir(dir, { withFileTypes: true });
      } catch {
        return;
      }
      for (const e of entries) {
        if (e.isDirectory() && !SKIPPED_FOLDERS.has(e.name)) await walk(path.join(dir, e.name), depth + 1);
        else if (e.isFile() && e.name === 'sweep.json') files.push(path.join(dir, e.name));
      }
    };
    for (const root of this.options.roots) await walk(root, 0);

    const sweeps: Sweep[] = [];
    for (const file of files) {
      try {
        const st = await fsp.stat(file);
        if (st.size > 10_000_000) continue;
        const sweep = parseSweep(await fsp.readFile(file, 'utf8'), file, st.mtimeMs);
        if (sweep) sweeps.push(sweep);
      } catch {
        // A sweep being written or deleted right now: the next scan will see it.
      }
    }
    const signature = sweeps.map((s) => `${s.file}@${s.mtimeMs}`).sort().join('|');
    const changed = signature !== this.signature;
    this.sweeps = sweeps;
    this.signature = signature;
    if (changed) this.options.onChange?.();
  }
}
