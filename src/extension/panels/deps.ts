// What the panels need from the extension, and the training events they follow. Their own
// module, so the panels and the barrel (index.ts) import it without a cycle.
import type * as vscode from 'vscode';
import type { RunRef, TrainFailure } from '../../protocol';
import type { ConfigRef, LayerWeightsParams, PlanResult } from '../../core/experiment/types';
import type { LayerWeightsOutcome } from '../layer-weights/client';
import type { RunResult, RunStart } from '../../core/engine';
import type { EvalRow, TrainRow } from '../../core/train/rows';
import type { RunSource } from './compare-rows';

/**
 * Plans and layer weights (core/experiment/planning), computed in the extension: plans in-process, layer weights in a worker thread (seconds for a large model).
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
  /** Every run the extension knows (the Experiments view's model), live while runs train. */
  readonly runs?: RunsSource;
  /** Tells the user something (an export saved), with buttons; resolves with the one clicked. */
  readonly notify?: (text: string, ...actions: string[]) => Thenable<string | undefined>;
}

/** The runs the Compare Runs table lists: RunsModel, seen through what the table needs. */
export interface RunsSource {
  readonly runs: readonly RunSource[];
  readonly onDidChange: vscode.Event<void>;
  refresh(): Promise<void>;
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
