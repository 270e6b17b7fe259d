// `rpg export --format torchrun RUN|CONFIG --out DIR`: a folder that trains the experiment on a
// cluster with torchrun and nothing of RPG Studio installed but PyTorch — the torch engine's
// package, the config as the core validated it, the model as the core resolved it (so any
// architecture the core knows trains there), the embedded digits when the config uses them,
// and a launcher. Exported from a run, the folder carries that run (record, metrics,
// checkpoint) and continues it, on any world size. Rank 0 writes the run folder in the common
// layout, so copying it back (or opening it over Remote) shows it like any run.
import { copyFileSync, cpSync, existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { loadConfigFile, validateConfig } from '../core/config/load';
import type { RpgConfig } from '../core/config/schema';
import { readCheckpoint } from '../core/checkpoint/file';
import { describeDataset } from '../core/data';
import { embeddedMnistDir } from '../core/data/embedded-mnist';
import { InvalidInputError } from '../core/errors';
import { resolveForData } from '../core/experiment/resolve';
import { experimentFolderName, METRICS_FILE, newRunId, RUN_CONFIG_FILE, RUN_FILE, CHECKPOINT_FILE } from '../core/runs/layout';
import { readRunRecord } from '../core/runs/record';
import { pythonPackageRoot } from '../engines/torch/python';

export interface TorchrunExport {
  readonly dir: string;
  readonly runDir: string;
  readonly resumes: boolean;
  readonly files: number;
}

export function exportTorchrun(source: string, outDir: string): TorchrunExport {
  const src = path.resolve(source);
  const fromRun = existsSync(path.join(src, RUN_FILE));
  let config: RpgConfig;
  let configPath: string | undefined;
  let runId: string;
  if (fromRun) {
    const record = readRunRecord(src);
    if (!record) throw new InvalidInputError(`${path.join(src, RUN_FILE)} is not a run record`, 'source');
    readCheckpoint(src); // verified before it is shipped
    config = validateConfig(record.config, record.configPath);
    configPath = record.configPath;
    runId = record.runId;
  } else {
    if (!/\.json$/.test(src)) throw new InvalidInputError(`${src}: give a run folder (with run.json) or a .rpg.json config`, 'source');
    config = loadConfigFile(src);
    configPath = src;
    runId = newRunId();
  }
  const baseDir = configPath ? path.dirname(configPath) : process.cwd();
  const spec = resolveForData(config, { ...describeDataset(config.data, baseDir), name: config.data.dataset }).spec;
  const dir = path.resolve(outDir);
  if (existsSync(dir) && readdirSync(dir).length) throw new InvalidInputError(`--out ${dir} exists and is not empty: choose a new folder`, 'out');
  mkdirSync(dir, { recursive: true });

  // A cluster has other paths: dataset folders are made absolute here and named in the README.
  const data = config.data.path ? { ...config.data, path: path.resolve(baseDir, config.data.path) } : config.data;
  const exported: RpgConfig = { ...config, data, train: { ...config.train, engine: 'torch' } };
  let embedded: string | null = null;
  if (config.data.dataset === 'mnist-embedded') {
    cpSync(embeddedMnistDir(), path.join(dir, 'data', 'mnist-digits'), { recursive: true });
    embedded = 'data/mnist-digits';
  }
  cpSync(path.join(pythonPackageRoot(), 'rpg_torch'), path.join(dir, 'rpg_torch'), { recursive: true, filter: (f) => !f.includes('__pycache__') });
  const runRel = path.join('runs', experimentFolderName(config.name), runId);
  if (fromRun) {
    mkdirSync(path.join(dir, runRel), { recursive: true });
    for (const f of [RUN_FILE, METRICS_FILE, RUN_CONFIG_FILE, CHECKPOINT_FILE]) if (existsSync(path.join(src, f))) copyFileSync(path.join(src, f), path.join(dir, runRel, f));
  }
  const job = { config: exported, spec, runsDir: 'runs', runId, embeddedMnistDir: embedded, device: 'auto', bf16: config.train.precision === 'bf16' };
  writeFileSync(path.join(dir, 'job.json'), JSON.stringify(job, null, 2) + '\n');
  writeFileSync(path.join(dir, 'train.sh'), launcher(runRel), { mode: 0o755 });
  writeFileSync(path.join(dir, 'README.md'), readme(config, runRel, fromRun));
  return { dir, runDir: path.join(dir, runRel), resumes: fromRun, files: countFiles(dir) };
}

function launcher(runRel: string): string {
  return `#!/usr/bin/env bash
# Trains this experiment with torchrun (written by \`rpg export --format torchrun\`).
#   ./train.sh                     one node: every GPU, or one process on the CPU
#   NPROC_PER_NODE=2 ./train.sh    two processes on this node (gloo on CPU, NCCL on GPUs)
#   NNODES=4 MASTER_ADDR=host0 MASTER_PORT=29500 ./train.sh   on each of 4 nodes (see README.md)
# A run with a checkpoint continues from it, on any number of processes.
set -euo pipefail
cd "$(dirname "$0")"
export PYTHONPATH="$PWD\${PYTHONPATH:+:$PYTHONPATH}"
PY="\${PYTHON:-python3}"
RUN="${runRel}"
NPROC="\${NPROC_PER_NODE:-$("$PY" -c 'import torch; print(torch.cuda.device_count() or 1)')}"
NNODES="\${NNODES:-1}"
if [ "$NNODES" = 1 ]; then RDZV=(--standalone); else RDZV=(--rdzv_backend c10d --rdzv_endpoint "\${MASTER_ADDR:?set MASTER_ADDR}:\${MASTER_PORT:-29500}" --rdzv_id "\${RDZV_ID:-rpg-$(basename "$RUN")}"); fi
RESUME=()
if [ -f "$RUN/checkpoint.bin" ]; then RESUME=(--resume "$RUN"); fi
# --redirects/--tee: torch 1.13's torchrun crashes under Python 3.11 with its default of 0.
exec "\${TORCHRUN:-torchrun}" --nnodes "$NNODES" --nproc_per_node "$NPROC" "\${RDZV[@]}" --redirects 2 --tee 2 --log_dir logs \\
  -m rpg_torch.distributed --job job.json "\${RESUME[@]}" "$@"
`;
}

function readme(config: RpgConfig, runRel: string, fromRun: boolean): string {
  return `# ${config.name ?? 'experiment'} — training with torchrun

Written by \`rpg export --format torchrun\`. Needs only Python with PyTorch ≥ 1.13 on every node.
${fromRun ? `It continues the run in \`${runRel}\` from its checkpoint.` : `The run will be written to \`${runRel}\`.`}

- One node, every GPU (or one CPU process): \`./train.sh\`
- Two processes on this node: \`NPROC_PER_NODE=2 ./train.sh\`
- Several nodes: on each node, \`NNODES=4 MASTER_ADDR=<first node> MASTER_PORT=29500 ./train.sh\`
- Slurm (one task per node):

  \`\`\`sh
  #SBATCH --nodes=4 --ntasks-per-node=1 --gpus-per-node=8
  export MASTER_ADDR=$(scontrol show hostnames "$SLURM_JOB_NODELIST" | head -n 1) MASTER_PORT=29500
  srun --export=ALL env NNODES=$SLURM_NNODES NPROC_PER_NODE=8 ./train.sh
  \`\`\`

\`train.batchSize\` (${config.train.batchSize}) is the global batch, split over all processes; the
batches do not depend on the number of processes, and a killed job resumes from its last
checkpoint on any number of them: run the same command again. Rank 0 writes \`${runRel}\`
(run.json, metrics.jsonl, checkpoint.bin) in RPG Studio's layout: copy it into a workspace's
\`runs/\` folder (or open this folder over Remote) and it shows in the Experiments view, its
curves and ring mapping like any run; \`rpg eval\` evaluates it.
${config.data.path ? `\nThe dataset is read from \`${config.data.path}\` (absolute, as on the machine it was exported from): edit \`config.data.path\` in job.json if it lives elsewhere here.\n` : ''}`;
}

function countFiles(dir: string): number {
  let n = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) n += e.isDirectory() ? countFiles(path.join(dir, e.name)) : 1;
  return n;
}
