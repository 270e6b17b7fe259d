"""The .rpg.json format: the same fields, defaults, validation and messages as
src/config/schema.ts + schema-dsl.ts + load.ts, so a config means the same in both engines and a
bad one gets the same one-line error (file, dotted field, what was expected).

``train.engine`` defaults to "tfjs" as in the TypeScript schema; "torch" is accepted here
already (the TypeScript schema lists the engines it has registered).
"""
from __future__ import annotations

import copy
import math
import os
import re
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

from .jsonc import JsoncError, js_number, parse_jsonc

Path = List[Union[str, int]]
Issue = Tuple[Path, str]

ARCHITECTURES = ("mlp", "lenet5", "resnet20", "resnet32", "resnet56", "resnet18", "resnet34", "vgg11", "vgg16", "mobilenetv2", "vit")
MODEL_SOURCES = ("arch", "graph", "import")
DATASETS = ("mnist-embedded", "mnist", "fashion-mnist", "cifar10", "cifar100", "image-folder")
SAMPLING_MODES = ("ring", "shuffled")
OPTIMIZERS = ("sgd", "adam")
SCHEDULES = ("constant", "step", "cosine", "exp")
BACKENDS = ("auto", "tensorflow", "webgpu", "wasm", "cpu", "cuda", "mps")
PRECISIONS = ("fp32", "bf16")
LR_NORMALIZATIONS = ("projected", "official")
GENERATE_SCOPES = ("kernels", "all")
GENERATION_METHODS = ("ring", "subspace", "hashed")
ENGINES = ("tfjs", "torch")
DOF_PERCENT_PATTERN = r"^\s*(\d+(\.\d+)?|\.\d+)\s*%\s*$"

_MISSING = object()

# A config the TypeScript core already validated (a job written by the torch-engine driver or
# `rpg export --format torchrun`) may hold fields and values this package does not know yet — a
# graph model, a newer option: in trusted parsing they are kept as given (the model comes as a
# resolved ModelSpec with the job) instead of being refused.
_trusted = [False]


class ConfigError(Exception):
    """Names the file and every offending field, as load.ts's ConfigError."""

    def __init__(self, file: Optional[str], issues: List[Issue]) -> None:
        self.file = file
        self.issues = issues
        super().__init__(format_issues(file, issues))

    @property
    def field(self) -> Optional[str]:
        if self.issues and self.issues[0][0]:
            return ".".join(str(p) for p in self.issues[0][0])
        return None


def format_issues(file: Optional[str], issues: List[Issue]) -> str:
    where = f"{file}: " if file else ""
    return "\n".join(f"{where}{'.'.join(str(p) for p in path) + ': ' if path else ''}{msg}" for path, msg in issues)


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, str):
        shown = value[:40] + "…" if len(value) > 40 else value
        return f"the string {_js_quote(shown)}"
    if isinstance(value, bool):
        return f"boolean {'true' if value else 'false'}"
    if isinstance(value, (int, float)):
        if isinstance(value, float) and math.isnan(value):
            return "number NaN"
        if isinstance(value, float) and math.isinf(value):
            return f"number {'-' if value < 0 else ''}Infinity"
        return f"number {js_number(value)}"
    return f"{type(value).__name__} {value}"


def _js_quote(s: str) -> str:
    from .jsonc import js_stringify

    return js_stringify(s)


class Schema:
    default: Any = _MISSING
    optional: bool = False

    def parse(self, value: Any, path: Path, issues: List[Issue]) -> Any:
        raise NotImplementedError


class Num(Schema):
    def __init__(self, default: Any = _MISSING, minimum: Optional[float] = None, maximum: Optional[float] = None,
                 exclusive_minimum: Optional[float] = None, integer: bool = False, optional: bool = False) -> None:
        self.default, self.minimum, self.maximum = default, minimum, maximum
        self.exclusive_minimum, self.integer, self.optional = exclusive_minimum, integer, optional

    def parse(self, value, path, issues):
        if not _is_number(value):
            issues.append((path, f"expected {'an integer' if self.integer else 'a number'}, got {type_name(value)}"))
            return _MISSING
        if self.integer and not float(value).is_integer():
            issues.append((path, f"expected an integer, got {js_number(value)}"))
            return _MISSING
        if self.minimum is not None and value < self.minimum:
            issues.append((path, f"must be ≥ {js_number(self.minimum)}, got {js_number(value)}"))
            return _MISSING
        if self.exclusive_minimum is not None and value <= self.exclusive_minimum:
            issues.append((path, f"must be > {js_number(self.exclusive_minimum)}, got {js_number(value)}"))
            return _MISSING
        if self.maximum is not None and value > self.maximum:
            issues.append((path, f"must be ≤ {js_number(self.maximum)}, got {js_number(value)}"))
            return _MISSING
        if self.integer and isinstance(value, float):
            return int(value)
        return value


class Str(Schema):
    def __init__(self, default: Any = _MISSING, pattern: Optional[str] = None, pattern_message: Optional[str] = None,
                 min_length: Optional[int] = None, optional: bool = False) -> None:
        self.default, self.pattern, self.pattern_message = default, pattern, pattern_message
        self.min_length, self.optional = min_length, optional
        self._re = re.compile(pattern) if pattern else None

    def parse(self, value, path, issues):
        if not isinstance(value, str):
            issues.append((path, f"expected a string, got {type_name(value)}"))
            return _MISSING
        if self.min_length is not None and len(value) < self.min_length:
            issues.append((path, "must not be empty"))
            return _MISSING
        if self._re is not None and not self._re.search(value):
            issues.append((path, self.pattern_message or f"does not match {self.pattern}"))
            return _MISSING
        return value


class Bool(Schema):
    def __init__(self, default: Any = _MISSING) -> None:
        self.default = default

    def parse(self, value, path, issues):
        if not isinstance(value, bool):
            issues.append((path, f"expected true or false, got {type_name(value)}"))
            return _MISSING
        return value


class Enum(Schema):
    def __init__(self, values: Sequence[str], default: Any = _MISSING, optional: bool = False) -> None:
        self.values, self.default, self.optional = tuple(values), default, optional

    def parse(self, value, path, issues):
        if _trusted[0] and isinstance(value, str):
            return value
        if not isinstance(value, str) or value not in self.values:
            listed = ", ".join(f'"{v}"' for v in self.values)
            issues.append((path, f"expected one of {listed}, got {type_name(value)}"))
            return _MISSING
        return value


class ArrayOf(Schema):
    def __init__(self, item: Schema, default: Any = _MISSING, min_items: Optional[int] = None, max_items: Optional[int] = None,
                 optional: bool = False) -> None:
        self.item, self.default, self.min_items, self.max_items, self.optional = item, default, min_items, max_items, optional

    def parse(self, value, path, issues):
        if not isinstance(value, list):
            issues.append((path, f"expected an array, got {type_name(value)}"))
            return _MISSING
        if self.min_items is not None and len(value) < self.min_items:
            issues.append((path, f"expected at least {self.min_items} item(s), got {len(value)}"))
            return _MISSING
        if self.max_items is not None and len(value) > self.max_items:
            issues.append((path, f"expected at most {self.max_items} item(s), got {len(value)}"))
            return _MISSING
        out = []
        ok = True
        for i, v in enumerate(value):
            parsed = self.item.parse(v, path + [i], issues)
            if parsed is _MISSING:
                ok = False
            else:
                out.append(parsed)
        return out if ok else _MISSING


class Either(Schema):
    def __init__(self, a: Schema, b: Schema, default: Any = _MISSING) -> None:
        self.a, self.b, self.default = a, b, default

    def parse(self, value, path, issues):
        ia: List[Issue] = []
        ra = self.a.parse(value, path, ia)
        if ra is not _MISSING:
            return ra
        ib: List[Issue] = []
        rb = self.b.parse(value, path, ib)
        if rb is not _MISSING:
            return rb
        if isinstance(value, str):
            matched = ib
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            matched = ia
        else:
            matched = ia + ib
        issues.append((path, "; or ".join(m for _, m in matched)))
        return _MISSING


class Graph(Schema):
    """model.graph: kept as given. Graphs are compiled (and checked, node by node, at their JSON
    paths) by the TypeScript core, which hands this engine the resolved ModelSpec."""

    optional = True

    def parse(self, value, path, issues):
        if not isinstance(value, dict):
            issues.append((path, f"expected an object, got {type_name(value)}"))
            return _MISSING
        return copy.deepcopy(value)


class Obj(Schema):
    def __init__(self, shape: Dict[str, Schema], required: Sequence[str] = (), optional: bool = False,
                 refine: Optional[Any] = None) -> None:
        self.shape, self.required, self.optional, self.refine = shape, tuple(required), optional, refine

    def parse(self, value, path, issues):
        if not isinstance(value, dict):
            issues.append((path, f"expected an object, got {type_name(value)}"))
            return _MISSING
        out: Dict[str, Any] = {}
        ok = True
        for key in value:
            if key == "$schema" and not path:
                continue
            if key not in self.shape:
                if _trusted[0]:
                    out[key] = copy.deepcopy(value[key])
                    continue
                issues.append((path + [key], f'unknown field "{key}"; expected one of {", ".join(self.shape)}'))
                ok = False
        for key, field in self.shape.items():
            if key not in value:
                if key in self.required:
                    issues.append((path + [key], f'missing required field "{key}"'))
                    ok = False
                elif field.default is not _MISSING:
                    out[key] = copy.deepcopy(field.default)
                elif not field.optional:
                    inner = field.parse({}, path + [key], issues)
                    if inner is _MISSING:
                        ok = False
                    else:
                        out[key] = inner
                continue
            parsed = field.parse(value[key], path + [key], issues)
            if parsed is _MISSING:
                ok = False
            else:
                out[key] = parsed
        if ok and self.refine is not None:
            before = len(issues)
            self.refine(out, path, issues)
            ok = len(issues) == before
        return out if ok else _MISSING


VIT = Obj({
    "patch": Num(default=4, integer=True, minimum=1, maximum=64),
    "dim": Num(default=64, integer=True, minimum=4, maximum=4096),
    "depth": Num(default=4, integer=True, minimum=1, maximum=64),
    "heads": Num(default=4, integer=True, minimum=1, maximum=64),
    "mlpDim": Num(default=128, integer=True, minimum=1, maximum=65536),
    "dropout": Num(default=0, minimum=0, maximum=0.9),
}, optional=True)


def _one_model_source(model: Dict[str, Any], path: Path, issues: List[Issue]) -> None:
    """schema.ts modelSchema's refinement: exactly one of arch, graph and import."""
    given = [k for k in MODEL_SOURCES if model.get(k) is not None]
    if len(given) == 1:
        return
    if not given:
        issues.append((path, "give one of arch (a built-in architecture), graph (nodes) or import (a Keras model.json)"))
    else:
        issues.append((path + [given[1]], f"give only one of arch, graph and import (this model has {' and '.join(given)})"))


MODEL = Obj({
    "arch": Enum(ARCHITECTURES, optional=True),
    "graph": Graph(),
    "import": Str(min_length=1, optional=True),
    "vit": VIT,
    "hidden": ArrayOf(Num(integer=True, minimum=1, maximum=65536), default=[256], max_items=64),
    "width": Num(default=1, exclusive_minimum=0, maximum=16),
    "smallInput": Bool(default=False),
    "numClasses": Num(integer=True, minimum=2, maximum=100000, optional=True),
    "batchNorm": Bool(default=True),
}, refine=_one_model_source)

RPG = Obj({
    "enabled": Bool(default=True),
    "dof": Either(Num(integer=True, minimum=1),
                  Str(pattern=DOF_PERCENT_PATTERN, pattern_message='expected a percentage like "10%" or an integer ring size'),
                  default="10%"),
    "sampling": Enum(SAMPLING_MODES, default="ring"),
    "freeFirst": Bool(default=False),
    "freeLast": Bool(default=False),
    "free": ArrayOf(Str(), max_items=1000, optional=True),
    "ringInitStd": Num(default=math.sqrt(2 / 4608), exclusive_minimum=0),
    "lrNormalization": Enum(LR_NORMALIZATIONS, default="projected"),
    "minReuseWarning": Num(default=1000, minimum=1),
    "generate": Enum(GENERATE_SCOPES, default="kernels"),
    "method": Enum(GENERATION_METHODS, default="ring"),
})

DATA = Obj({
    "dataset": Enum(DATASETS, default="mnist-embedded"),
    "path": Str(optional=True),
    "trainSize": Num(integer=True, minimum=1, optional=True),
    "testSize": Num(integer=True, minimum=1, optional=True),
    "augment": Bool(default=False),
    "imageSize": Num(integer=True, minimum=4, maximum=1024, optional=True),
})

TRAIN = Obj({
    "optimizer": Enum(OPTIMIZERS, default="adam"),
    "lr": Num(default=0.001, exclusive_minimum=0),
    "momentum": Num(default=0.9, minimum=0, maximum=0.999),
    "weightDecay": Num(default=0, minimum=0, maximum=1),
    "schedule": Enum(SCHEDULES, default="constant"),
    "batchSize": Num(default=64, integer=True, minimum=1, maximum=65536),
    "epochs": Num(default=10, integer=True, minimum=1, maximum=100000),
    "maxSteps": Num(integer=True, minimum=1, optional=True),
    "evalEvery": Num(integer=True, minimum=1, optional=True),
    "checkpointEvery": Num(integer=True, minimum=1, optional=True),
    "engine": Enum(ENGINES, default="tfjs"),
    "backend": Enum(BACKENDS, default="auto"),
    "precision": Enum(PRECISIONS, default="fp32"),
})

CONFIG = Obj({
    "name": Str(min_length=1, optional=True),
    "description": Str(optional=True),
    "seed": Num(default=1, integer=True, minimum=0, maximum=4294967295),
    "model": MODEL,
    "rpg": RPG,
    "data": DATA,
    "train": TRAIN,
}, required=["model"])


def validate_config(raw: Any, file: Optional[str] = None, trusted: bool = False) -> Dict[str, Any]:
    """Validates a parsed object and applies defaults (load.ts validateConfig). ``trusted``: the
    TypeScript core validated it already; unknown fields and enum values are kept as given."""
    issues: List[Issue] = []
    _trusted[0] = trusted
    try:
        config = CONFIG.parse(raw, [], issues)
    finally:
        _trusted[0] = False
    if config is _MISSING or issues:
        raise ConfigError(file, issues)
    train = config["train"]
    if not trusted and train["engine"] == "tfjs" and train["backend"] in ("cuda", "mps"):
        raise ConfigError(file, [(["train", "backend"], f'backend "{train["backend"]}" runs on the torch engine: set train.engine to "torch" (or use auto, wasm, cpu or tensorflow)')])
    if not trusted and train["engine"] == "torch" and train["backend"] in ("tensorflow", "webgpu", "wasm"):
        raise ConfigError(file, [(["train", "backend"], f'backend "{train["backend"]}" belongs to the tfjs engine: the torch engine runs on auto, cuda, mps or cpu')])
    if not config.get("name"):
        config["name"] = re.sub(r"\.rpg\.json$|\.json$", "", os.path.basename(file), count=1) if file else "experiment"
    return config


def parse_config_text(text: str, file: Optional[str] = None) -> Dict[str, Any]:
    try:
        raw = parse_jsonc(text)
    except JsoncError as e:
        raise ConfigError(file, [([], f"JSON syntax error at {l}:{c}: {code}") for l, c, code in e.errors]) from None
    return validate_config(raw, file)


def load_config_file(file: str) -> Dict[str, Any]:
    try:
        with open(file, "r", encoding="utf-8") as f:
            text = f.read()
    except OSError as e:
        code = {2: "ENOENT", 13: "EACCES", 21: "EISDIR"}.get(e.errno or 0, str(e))
        raise ConfigError(file, [([], f"cannot read the file ({code})")]) from None
    return parse_config_text(text, file)
