"""The Python half of the engine-parity test (test/integration/torch-parity.test.ts).

For each case (a config, validated here as in the TypeScript), it reports what the TypeScript
side recomputes and compares: the plan hash and materializedHash, sha256 of the generated
weights, of the initial ring and of the initial free parameters (float32 little-endian bytes,
plan/spec order; generated values with their layers' bases), sha256 of the first training batch
(x and y), and the first-batch loss of the initial model in training mode (dropout masks
included). A case may also ask for the model this package built (``wantSpec``: its params and
ops, to compare with the TypeScript builders) and for ``trainSteps`` optimizer steps (the loss
of each and the trained values). One process runs every case, so torch is imported once.
"""
from __future__ import annotations

import hashlib
import json
import math
import os
import time
from typing import Any, Dict, List

import torch
import torch.nn.functional as F

from .config import validate_config
from .data import batches, load_dataset
from .experiment import resolve
from .jsonc import js_stringify
from .data import batch_count
from .network import RpgNetwork, to_nchw
from .optimizer import Optimizer, learning_rate
from .plan import add_layer_bases, generate_weights, initial_free_value, initial_ring, materialize_plan, materialized_hash, tensor_bytes


def sha(*tensors: torch.Tensor) -> str:
    h = hashlib.sha256()
    for t in tensors:
        h.update(tensor_bytes(t))
    return h.hexdigest()


def probe_case(case: Dict[str, Any], base_dir: str) -> Dict[str, Any]:
    t0 = time.time()
    config = validate_config(case["config"])
    ds = load_dataset(config["data"], base_dir, case.get("embeddedMnistDir"))
    r = resolve(config, ds.height, ds.width, ds.channels, ds.numClasses, case.get("spec"), ds.name)
    out: Dict[str, Any] = {"id": case["id"], "planHash": r.plan.hash if r.plan else None, "totalParams": r.summary["totalParams"],
                           "dof": r.summary["dof"]}
    mp = materialize_plan(r.plan) if r.plan else None
    if mp is not None:
        out["materializedHash"] = materialized_hash(mp)
        ring = initial_ring(r.plan)
        out["ringSha"] = sha(ring)
        out["weightsSha"] = sha(add_layer_bases(r.plan, generate_weights(mp, ring)))
        out["scaleSquareSumSha"] = sha(mp.scale_square_sum)
    generated = {layer.param.name for layer in r.plan.layers} if r.plan else set()
    free = [initial_free_value(p, config["seed"]) for p in r.spec.params if p.name not in generated]
    out["freeSha"] = sha(*free) if free else None
    if case.get("wantSpec"):
        spec_json = r.spec.to_json()
        out["spec"] = {"params": spec_json["params"], "ops": spec_json["ops"], "output": spec_json["output"]}
    if case.get("firstBatch", True):
        tc = config["train"]
        b = next(batches(ds, "train", tc["batchSize"], config["seed"], 0, True, config["data"]["augment"]))
        out["batchSha"] = sha(b.x.contiguous(), b.y.to(torch.int32))
        net = RpgNetwork(r.spec, mp, config["seed"])
        net.train()
        with torch.no_grad():
            logits = net(to_nchw(b.x))
            out["firstLoss"] = float(F.cross_entropy(logits, b.y))
    if case.get("trainSteps"):
        out.update(train_steps(config, ds, r.spec, mp, int(case["trainSteps"])))
    out["seconds"] = time.time() - t0
    return out


def train_steps(config: Dict[str, Any], ds, spec, mp, steps: int) -> Dict[str, Any]:
    """``steps`` optimizer steps from the initial state as the trainer takes them (its batches,
    learning rates, dropout masks of each step): each step's loss, and every variable after, by name."""
    tc = config["train"]
    net = RpgNetwork(spec, mp, config["seed"])
    net.train()
    optimizer = Optimizer(tc["optimizer"], tc["momentum"], tc["weightDecay"], config["rpg"]["lrNormalization"], net.variables(), net.roles, mp)
    steps_per_epoch = max(1, batch_count(ds.train.count, tc["batchSize"]))
    total = int(min(tc.get("maxSteps") or math.inf, steps_per_epoch * tc["epochs"]))
    losses: List[float] = []
    step = 0
    while step < steps:
        for b in batches(ds, "train", tc["batchSize"], config["seed"], step // steps_per_epoch, True, config["data"]["augment"], step % steps_per_epoch):
            net.step, net.global_batch = step, b.size
            optimizer.zero_grad()
            loss = F.cross_entropy(net(to_nchw(b.x)), b.y)
            loss.backward()
            optimizer.apply(learning_rate(tc, step, total))
            losses.append(float(loss))
            step += 1
            if step >= steps:
                break
    return {"losses": losses, "trained": {name: v.detach().reshape(-1).tolist() for name, v in net.variables()}}


def probe(cases_file: str, out_dir: str) -> int:
    with open(cases_file, "r", encoding="utf-8") as f:
        spec = json.load(f)
    torch.set_num_threads(int(spec.get("threads") or 1))
    base = spec.get("baseDir") or os.path.dirname(os.path.abspath(cases_file))
    results: List[Dict[str, Any]] = []
    for case in spec["cases"]:
        try:
            results.append(probe_case(case, base))
        except Exception as e:  # noqa: BLE001 - reported per case, the test names it
            results.append({"id": case["id"], "error": f"{type(e).__name__}: {e}"})
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, "results.json"), "w", encoding="utf-8") as f:
        f.write(js_stringify({"torch": torch.__version__, "results": results}, 2) + "\n")
    return 0
