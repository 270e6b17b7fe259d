"""config → dataset → model spec → plan → materialized plan → network: one path for every
command, with every failure turned into a TrainError naming the field or file at fault
(as src/train/session.ts and src/config/resolve.ts)."""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Dict, Optional

from .config import ConfigError
from .data import Dataset, DatasetError, load_dataset
from .models import ModelSpec, NeedsResolvedSpec, ShapeError, build_model_spec, spec_from_json, SpecError
from .plan import PlanError, RpgPlan, build_plan, summarize_dof


class TrainError(Exception):
    """A failure a user can act on: a code, the field or file at fault."""

    def __init__(self, code: str, message: str, field: Optional[str] = None, file: Optional[str] = None) -> None:
        super().__init__(message)
        self.code = code
        self.field = field
        self.file = file

    def event(self) -> Dict[str, Any]:
        out: Dict[str, Any] = {"event": "error", "code": self.code, "message": str(self)}
        if self.field:
            out["field"] = self.field
        if self.file:
            out["file"] = self.file
        return out


@dataclass
class Resolved:
    config: Dict[str, Any]
    spec: ModelSpec
    plan: Optional[RpgPlan]
    summary: Dict[str, Any]


def resolve(config: Dict[str, Any], height: int, width: int, channels: int, num_classes: int,
            spec_json: Optional[Dict[str, Any]] = None, dataset_name: Optional[str] = None) -> Resolved:
    """resolveForData: the model (built, or given as a TypeScript-resolved spec) and its plan."""
    model = config["model"]
    # The torch engine generates from RPG's ring (rpg.generate "kernels" or "all"); the sweep
    # baselines (random subspace, HashedNets) are the tfjs engine's.
    rpg = config["rpg"]
    if rpg["enabled"] and rpg.get("method", "ring") != "ring":
        raise TrainError("config", f'rpg.method "{rpg["method"]}" is trained by the tfjs engine only; the torch engine trains rpg.method "ring" (set train.engine to "tfjs")', "rpg.method")
    if model.get("numClasses") is not None and dataset_name is not None and model["numClasses"] != num_classes:
        raise TrainError("config", f"model.numClasses is {model['numClasses']} but {dataset_name} has {num_classes} classes", "model.numClasses")
    try:
        spec = spec_from_json(spec_json) if spec_json is not None else build_model_spec(model, height, width, channels, num_classes)
        plan = build_plan(spec, config["rpg"], config["seed"]) if config["rpg"]["enabled"] else None
    except PlanError as e:
        raise TrainError("plan", str(e), e.field) from None
    except ShapeError as e:
        raise TrainError("shape", f"{e} (data {height}×{width}×{channels})", "model.arch") from None
    except SpecError as e:
        raise TrainError("shape", str(e), "model") from None
    except NeedsResolvedSpec as e:
        raise TrainError("config", str(e), e.field) from None
    if spec_json is not None and tuple(spec.inputShape) != (height, width, channels):
        raise TrainError("shape", f"the model spec expects {'×'.join(map(str, spec.inputShape))} inputs but the data is {height}×{width}×{channels}", "model")
    return Resolved(config, spec, plan, summarize_dof(spec, plan))


def load_data(config: Dict[str, Any], config_path: Optional[str], embedded_dir: Optional[str]) -> Dataset:
    base = os.path.dirname(os.path.abspath(config_path)) if config_path else os.getcwd()
    try:
        return load_dataset(config["data"], base, embedded_dir)
    except DatasetError as e:
        field = "data.path" if config["data"].get("path") else "data.dataset"
        raise TrainError("dataset", str(e), field, e.file) from None


def config_error(e: ConfigError) -> TrainError:
    return TrainError("config", str(e), e.field, e.file)
