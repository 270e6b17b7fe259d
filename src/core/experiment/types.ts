// What a plan looks like to a reader (the Layers view, CodeLens, the ring mapping, the CLI):
// a config resolved into layers with their ring slices, and one layer's generated weights.
import type { DofSummary } from '../rpg/dof';

/** A config by path (read from disk) or by content (an unsaved editor). */
export interface ConfigRef {
  readonly configPath?: string;
  /** JSONC text; wins over the file's content when given. */
  readonly text?: string;
}

export interface PlanLayer {
  readonly name: string;
  readonly layer: string;
  readonly kind: string;
  readonly shape: readonly number[];
  readonly params: number;
  readonly offset: number;
  readonly scale: number;
  readonly initStd: number;
  readonly reuse: number;
  readonly distinctEntries: number;
  /** Ring ranges fetched before the layer's permutation ("ring" mode; empty for "shuffled"). */
  readonly spans: readonly { readonly start: number; readonly end: number }[];
  readonly fullWraps: number;
}

export interface PlanResult {
  readonly name: string;
  readonly configPath?: string;
  readonly mode: 'ring' | 'shuffled' | 'plain';
  readonly seed: number;
  readonly ringSize: number;
  readonly hash: string;
  readonly summary: DofSummary;
  /** Set when the dataset is not readable here: the plan then uses its standard input shape. */
  readonly inputNote?: string;
  readonly layers: readonly PlanLayer[];
  readonly free: readonly { readonly name: string; readonly kind: string; readonly shape: readonly number[]; readonly params: number }[];
}

export interface LayerWeightsParams extends ConfigRef {
  readonly layer: string;
  /**
   * Use this run's checkpoint ring when it was trained with the config's plan; else (or when
   * it is unreadable) the initial ring, and the result's `note` says why.
   */
  readonly runDir?: string;
  /** At most this many values are returned (a deterministic sample). */
  readonly maxValues?: number;
}

export interface LayerWeightsResult {
  readonly layer: string;
  readonly shape: readonly number[];
  /** Rows × cols of the heatmap the values are laid out in (kernel flattened to [fanIn, fanOut]). */
  readonly rows: number;
  readonly cols: number;
  /** Row-major; a strided sample of the layer's rows and columns when it has more than maxValues. */
  readonly values: readonly number[];
  /** Over every weight of the layer, bins symmetric around 0. */
  readonly histogram: { readonly edges: readonly number[]; readonly counts: readonly number[] };
  readonly source: 'checkpoint' | 'initial';
  /** Why a runDir's checkpoint was passed over for the initial ring (names the file). */
  readonly note?: string;
  /** Share of positive weights among the layer's non-zero weights (0.5 = balanced); over all weights, not the sample. */
  readonly signBalance: number;
}
