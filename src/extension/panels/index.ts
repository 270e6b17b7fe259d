// Public API of the two webview panels (ring mapping, training curves). The extension's
// commands call these; everything else under panels/ is private to the webviews owner.
import type * as vscode from 'vscode';
import type { RunRef, TrainFailure } from '../../protocol';
import type { ConfigRef, LayerWeightsParams, PlanResult } from '../../core/experiment/types';
import type { LayerWeightsOutcome } from '../layer-weights/client';
import type { RunResult, RunStart } from '../../core/engine';
import type { EvalRow, TrainRow } from '../../core/train/rows';

/**
 * Plans and layer weights, as the trainer's plan requests answer them, computed in the
 * extension: plans in-process, layer weights in a worker thread (seconds for a large model).
 */
export interface PlanningAccess {
  plan(ref: ConfigRef): Promise<PlanResult>;
  /** The layer's weights, computed off the extension host; the newest waiting request runs first. */
  layerWeights(params: LayerWeightsParams, lane: string): Promise<LayerWeightsOutcome>;
  /** Forgets the lane's waiting requests (its panel closed). */
  cancelLayerWeights(lane: string): void;
}

export interface PanelDeps {
  readonly extensionUri: vscode.Uri;
  readonly planning: PlanningAccess;
  readonly log: (m: string) => void;
  /** Reveal a generated layer in the Layers tree and in the config editor. */
  readonly revealLayer?: (configUri: vscode.Uri, layerName: string) => void;
  /** Folder holding runs (<runsDir>/<config name>/<run id>/); default <workspace>/runs. */
  readonly runsDir?: () => string | undefined;
}

/**
 * The trainer's train/* notification payloads, tagged by `kind` (the same shape as the
 * extension's RunEvent, so its events pass straight through). checkpoint/cancelled are ignored.
 */
export type TrainingEvent =
  | ({ readonly kind: 'started' } & RunRef & RunStart & { readonly configPath?: string })
  | ({ readonly kind: 'progress' } & RunRef & TrainRow & { readonly totalSteps: number; readonly totalEpochs: number })
  | ({ readonly kind: 'evaluated' } & RunRef & EvalRow)
  | ({ readonly kind: 'finished' } & RunRef & RunResult)
  | ({ readonly kind: 'failed' } & TrainFailure)
  | { readonly kind: 'checkpoint' | 'cancelled'; readonly runId: string };

export { showRingMapping } from './mapping-panel';
export { showTrainingCurves, postTrainingEvent } from './curves-panel';
export { registerPanelSerializers } from './serializers';
export { MAPPING_VIEW_TYPE, CURVES_VIEW_TYPE } from '../../webview-contract';
