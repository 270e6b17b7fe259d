// `rpg plan CONFIG [--json]`: the ring-to-layer table and DoF totals.
import * as path from 'node:path';
import { describeDataset } from '../../core/data';
import type { DatasetInfo } from '../../core/data';
import { DatasetError } from '../../core/data/types';
import { nominalDatasetInfo } from '../../core/data/standard-shapes';
import type { RpgConfig } from '../../core/config/schema';
import { resolveExperiment } from '../../core/experiment/resolve';
import { materializedHash, materializePlan } from '../../core/rpg/materialize';
import { loadConfigOrThrow, ParsedArgs } from '../args';
import { formatPlan } from '../format';

const out = (s: string) => process.stdout.write(s + '\n');

export async function planCommand(args: ParsedArgs): Promise<number> {
  const file = args.positional[0];
  const config = loadConfigOrThrow(file);
  const r = resolveExperiment(config, planInput(config, path.dirname(path.resolve(file!))));
  if (args.flags.has('json')) {
    // The index and sign arrays are drawn only for --json (seconds for ResNet-34): the hash that
    // the PyTorch engine's `python -m rpg_torch plan --json` must print too.
    const mHash = r.plan ? materializedHash(materializePlan(r.plan)) : null;
    out(JSON.stringify({ name: config.name, mode: r.plan?.mode ?? 'plain', seed: config.seed, hash: r.plan?.hash ?? null, materializedHash: mHash, summary: r.summary }, null, 2));
  } else {
    out(formatPlan(r.summary, r.plan?.mode ?? 'plain (rpg.enabled = false)', config.seed, r.plan?.hash));
  }
  return 0;
}

/** Dataset shape for planning: the files if present, else the dataset's standard shape. */

function planInput(config: RpgConfig, baseDir: string): DatasetInfo {
  try {
    return describeDataset(config.data, baseDir);
  } catch (err) {
    if (!(err instanceof DatasetError)) throw err;
    const standard = nominalDatasetInfo(config.data, config.model.numClasses);
    process.stderr.write(`note: ${err.message}; planning with the standard ${config.data.dataset} shape ${standard.height}×${standard.width}×${standard.channels}, ${standard.numClasses} classes\n`);
    return standard;
  }
}
