// The one contract between the extension's panel hosts and the webview apps: every message is
// a member of a discriminated union by `type`, imported by both sides. The webview always
// speaks first ("ready"); the host sends data only after it. Plain data only (JSON-clonable).
import type { LayerWeightsResult, PlanResult } from '../core/experiment/types';
import type { RunRecord } from '../core/runs/types';

export const MAPPING_VIEW_TYPE = 'rpgStudio.ringMapping';
export const CURVES_VIEW_TYPE = 'rpgStudio.trainingCurves';
export const COMPARE_VIEW_TYPE = 'rpgStudio.compareRuns';

// ── ring mapping ────────────────────────────────────────────────────────────────────────────
/** What the mapping webview persists with setState (and gets back after a restart). */
export interface MappingViewState {
  readonly configPath?: string;
  readonly selectedLayer?: string;
}

export type MappingToWebview =
  | { readonly type: 'loading'; readonly configPath: string }
  /** openedAt: Date.now() when the panel was asked for; planMs: the time to plan the config. */
  | { readonly type: 'plan'; readonly plan: PlanResult; readonly configPath: string; readonly runDir?: string; readonly openedAt: number; readonly planMs?: number }
  | { readonly type: 'layerWeights'; readonly result: LayerWeightsResult }
  | { readonly type: 'error'; readonly message: string; readonly layer?: string };

export type MappingToHost =
  | { readonly type: 'ready'; readonly state?: MappingViewState }
  /** Weights of a layer, for the detail view or a hover's sign balance (answered by 'layerWeights'). */
  | { readonly type: 'requestWeights'; readonly layer: string }
  | { readonly type: 'revealLayer'; readonly layer: string }
  | { readonly type: 'refresh' }
  /** The first full render finished, `ms` after the host sent the plan (for benchmarks). */
  | { readonly type: 'rendered'; readonly ms: number; readonly layers: number; readonly planMs?: number };

// ── training curves ─────────────────────────────────────────────────────────────────────────
/** A run folder's run.json, reduced to what the panel shows. */
/** A run as a panel lists it: the fields of its record (core/runs/types.ts) a legend and picker show. */
export type RunInfo = Pick<RunRecord, 'runId' | 'name' | 'arch' | 'dataset' | 'dof' | 'ringSize' | 'status' | 'bestAcc' | 'finalAcc'> & {
  /** Absolute run folder: the run's identity in the panel. */
  readonly runDir: string;
  readonly startedAt?: string;
  /** false for a plain model (rpg.enabled false: the 100% reference, a sweep's width baseline). */
  readonly rpg?: boolean;
};

/** Train rows, column-wise (100k points per run travel and plot as flat arrays). */
export interface TrainColumns {
  readonly step: number[];
  readonly epoch: number[];
  readonly loss: number[];
  readonly acc: number[];
  readonly lr: number[];
  readonly samplesPerSec: number[];
  readonly time: number[];
}

export interface EvalColumns {
  readonly step: number[];
  readonly epoch: number[];
  readonly loss: number[];
  readonly acc: number[];
  readonly time: number[];
}

export interface RunSeries {
  readonly info: RunInfo;
  readonly train: TrainColumns;
  readonly eval: EvalColumns;
  /** Lines of metrics.jsonl that did not parse (reported, not fatal). */
  readonly skipped: number;
}

/** Rows appended to one run while it trains (batched by the host). */
export interface RunAppend {
  readonly runDir: string;
  readonly train: TrainColumns;
  readonly eval: EvalColumns;
  readonly status?: RunInfo['status'];
  readonly bestAcc?: number;
  readonly finalAcc?: number;
}

export type XAxis = 'step' | 'epoch' | 'time';
export type CurvesView = 'curves' | 'dof';

export interface CurvesViewState {
  readonly selected: readonly string[];
  readonly hidden: readonly string[];
  readonly xAxis: XAxis;
  readonly logY: boolean;
  readonly smoothing: number;
  readonly view: CurvesView;
  readonly showTrain: boolean;
  /** Test-split curves (state key kept from when they were called "val"). */
  readonly showVal: boolean;
  /** The x a user pinned to compare every run at (click a chart; click again to release). */
  readonly pinnedX?: number;
}

export type CurvesToWebview =
  /** Every run found under the runs folder (and any live ones). */
  | { readonly type: 'runs'; readonly runs: readonly RunInfo[]; readonly runsDir?: string }
  /** Full series of the runs asked for (replaces what the webview had for them). */
  | { readonly type: 'series'; readonly series: readonly RunSeries[] }
  | { readonly type: 'append'; readonly appends: readonly RunAppend[] }
  /** These runs' folders are gone (deleted): drop them from the list, the selection and the charts. */
  | { readonly type: 'removed'; readonly runDirs: readonly string[] }
  /** Add these runs to the selection (Experiments tree → "Compare"). */
  | { readonly type: 'select'; readonly runDirs: readonly string[] }
  | { readonly type: 'exported'; readonly what: 'png' | 'csv'; readonly path: string }
  /** Show this tab (after a sweep: the DoF view). */
  | { readonly type: 'view'; readonly view: CurvesView }
  | { readonly type: 'error'; readonly message: string };

export type CurvesToHost =
  | { readonly type: 'ready'; readonly state?: CurvesViewState }
  | { readonly type: 'loadRuns'; readonly runDirs: readonly string[] }
  | { readonly type: 'refreshRuns' }
  | { readonly type: 'exportPng'; readonly dataUrl: string; readonly suggestedName: string }
  | { readonly type: 'exportCsv'; readonly csv: string; readonly suggestedName: string };

// ── compare runs (the Experiments table) ────────────────────────────────────────────────────
/**
 * How a run's parameters were made: RPG's ring, a baseline at the same trained count (random
 * subspace, HashedNets, a plain model narrowed by model.width), or the plain model.
 */
export type RunMethod = 'rpg' | 'subspace' | 'hashed' | 'width' | 'plain';

/**
 * One run as the table shows it: parameters from its config and record, metrics from its
 * metrics.jsonl (or, while it trains, the trainer's live progress). Absent fields are unknown.
 */
export interface CompareRow {
  /** Absolute run folder: the row's identity. */
  readonly runDir: string;
  readonly runId: string;
  readonly name: string;
  readonly status: RunRecord['status'] | 'queued';
  /** 0..1 while it trains. */
  readonly progress?: number;
  readonly hasCheckpoint: boolean;
  /** The sweep it is a point of (`<name>-sweep/<sweep id>`), when it is one. */
  readonly sweep?: string;
  /** Runs that differ only in their seed share this key (mean ± std over seeds). */
  readonly groupKey: string;
  // config and record
  readonly arch: string;
  readonly dataset: string;
  readonly method: RunMethod;
  /** What the ring (or baseline) generates: "kernels" or "all"; absent for the plain model. */
  readonly generate?: string;
  /** Trained numbers (ring or baseline vector + free parameters; the plain model: all). */
  readonly dof: number;
  /** Ring size M (0 for the plain model). */
  readonly ringSize: number;
  readonly totalParams: number;
  readonly width?: number;
  readonly sampling?: string;
  readonly lr?: number;
  readonly optimizer?: string;
  readonly schedule?: string;
  readonly batchSize?: number;
  readonly epochs?: number;
  readonly engine?: string;
  readonly backend?: string;
  readonly device?: string;
  readonly seed?: number;
  readonly startedAt?: string;
  // metrics
  readonly bestAcc?: number;
  readonly finalAcc?: number;
  /** Test loss at the last evaluation. */
  readonly finalLoss?: number;
  /** Training loss of the last step. */
  readonly trainLoss?: number;
  readonly steps?: number;
  readonly durationSec?: number;
  /** Mean of the run's training rows' samples/s (live: the current rate). */
  readonly samplesPerSec?: number;
  readonly checkpointBytes?: number;
}

export interface ComparePlotState {
  /** Column ids of the metric-vs-parameter plot. */
  readonly x: string;
  readonly y: string;
  /** "auto": log where the values are positive and span 20× or more. */
  readonly logX: 'auto' | 'on' | 'off';
  readonly logY: 'auto' | 'on' | 'off';
}

export interface CompareViewState {
  readonly sort: { readonly column: string; readonly descending: boolean };
  readonly filter: string;
  /** Visible columns, in order. */
  readonly columns: readonly string[];
  readonly selected: readonly string[];
  /** Rows that differ only by seed shown as one, metrics as mean ± std. */
  readonly aggregate: boolean;
  readonly view: 'scatter' | 'parallel';
  readonly plot: ComparePlotState;
  /** Column ids of the parallel coordinates' axes. */
  readonly axes: readonly string[];
}

export type CompareToWebview =
  /** Every run (replaces the list). */
  | { readonly type: 'rows'; readonly rows: readonly CompareRow[]; readonly runsDirs: readonly string[] }
  /** Runs that changed or appeared (live progress, a new checkpoint, a finished run). */
  | { readonly type: 'upsert'; readonly rows: readonly CompareRow[] }
  | { readonly type: 'remove'; readonly runDirs: readonly string[] }
  | { readonly type: 'exported'; readonly what: 'csv' | 'svg' | 'png'; readonly path: string }
  | { readonly type: 'error'; readonly message: string };

export type CompareToHost =
  | { readonly type: 'ready'; readonly state?: CompareViewState }
  | { readonly type: 'refresh' }
  /** Plot these runs in the training curves panel. */
  | { readonly type: 'showCurves'; readonly runDirs: readonly string[] }
  | { readonly type: 'openFolder'; readonly runDir: string }
  | { readonly type: 'resume'; readonly runDir: string }
  | { readonly type: 'delete'; readonly runDirs: readonly string[] }
  | { readonly type: 'exportCsv'; readonly csv: string; readonly suggestedName: string }
  | { readonly type: 'exportSvg'; readonly svg: string; readonly suggestedName: string }
  | { readonly type: 'exportPng'; readonly dataUrl: string; readonly suggestedName: string };

/** The webview API's typed face, for the webview side. */
export interface WebviewApi<ToHost, State> {
  postMessage(message: ToHost): void;
  getState(): State | undefined;
  setState(state: State): void;
}
