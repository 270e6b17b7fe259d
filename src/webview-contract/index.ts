// The one contract between the extension's panel hosts and the webview apps: every message is
// a member of a discriminated union by `type`, imported by both sides. The webview always
// speaks first ("ready"); the host sends data only after it. Plain data only (JSON-clonable).
import type { LayerWeightsResult, PlanResult } from '../core/experiment/types';
import type { RunRecord } from '../core/runs/types';

export const MAPPING_VIEW_TYPE = 'rpgStudio.ringMapping';
export const CURVES_VIEW_TYPE = 'rpgStudio.trainingCurves';

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

/** The webview API's typed face, for the webview side. */
export interface WebviewApi<ToHost, State> {
  postMessage(message: ToHost): void;
  getState(): State | undefined;
  setState(state: State): void;
}
