// The messages between the extension host and the layer weights worker thread. One request at
// a time is in the worker (the client queues the rest), so an id only guards against mix-ups.
import type { TrainerErrorData } from '../../protocol';
import type { LayerWeightsParams, LayerWeightsResult } from '../../core/experiment/types';

export interface WorkerRequest {
  readonly id: number;
  readonly params: LayerWeightsParams;
}

export type WorkerReply =
  | { readonly id: number; readonly ok: true; readonly result: LayerWeightsResult }
  /** A failure as a JSON-RPC request error carries it (a ResponseError's parts: code, message, data). */
  | { readonly id: number; readonly ok: false; readonly code: number; readonly message: string; readonly data?: TrainerErrorData };
