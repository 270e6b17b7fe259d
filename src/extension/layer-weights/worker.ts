// Entry of dist/layer-weights-worker.js: a worker thread of the extension host that answers the
// ring mapping's layer weights with the trainer's own layerWeightsFor. A ResNet-34 layer in
// "shuffled" mode costs seconds the first time, which must not block the extension host. The
// pure modules keep the last plan's draws, so the next layers of that plan are cheap here.
// No vscode, no tfjs: only the plan, the random streams and node:fs for a checkpoint.
import { parentPort } from 'node:worker_threads';
import { toResponseError } from '../../protocol/errors';
import { layerWeightsFor } from '../../core/experiment/planning';
import type { WorkerReply, WorkerRequest } from './messages';

const port = parentPort;
if (!port) throw new Error('layer-weights-worker.js runs as a worker thread of the extension host');

port.on('message', (request: WorkerRequest) => {
  let reply: WorkerReply;
  try {
    reply = { id: request.id, ok: true, result: layerWeightsFor(request.params) };
  } catch (err) {
    const e = toResponseError(err);
    reply = { id: request.id, ok: false, code: e.code, message: e.message, ...(e.data ? { data: e.data } : {}) };
  }
  port.postMessage(reply);
});
