"""Models as data, as src/models/{spec,shapes,architectures}.ts: the same ParamSpecs (names,
shapes in TensorFlow layout — conv [kh, kw, cin, cout], dense [in, out] —, kinds, fans,
first/last position) and ops in the same order, so plans and checkpoints agree between engines.

A ModelSpec can also be read from JSON (``spec_from_json``): a spec resolved by the TypeScript
side, of an architecture this module does not build, runs here unchanged.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Sequence, Tuple

PARAM_KINDS = ("conv", "dense", "bias", "bn-gamma", "bn-beta")
OP_KINDS = ("conv", "dense", "batchnorm", "relu", "maxpool", "globalavgpool", "flatten", "add", "pad-shortcut")


@dataclass(frozen=True)
class ParamSpec:
    name: str
    shape: Tuple[int, ...]
    kind: str
    size: int
    fanIn: int
    fanOut: int
    layer: str
    position: str  # 'first' | 'middle' | 'last'

    def to_json(self) -> Dict[str, Any]:
        return {"name": self.name, "shape": list(self.shape), "kind": self.kind, "size": self.size, "fanIn": self.fanIn,
                "fanOut": self.fanOut, "layer": self.layer, "position": self.position}


@dataclass
class ModelSpec:
    arch: str
    inputShape: Tuple[int, int, int]  # [height, width, channels]
    numClasses: int
    params: List[ParamSpec]
    ops: List[Dict[str, Any]]  # the TypeScript Op objects, field for field
    input: str
    output: str

    def to_json(self) -> Dict[str, Any]:
        return {"arch": self.arch, "inputShape": list(self.inputShape), "numClasses": self.numClasses,
                "params": [p.to_json() for p in self.params], "ops": [dict(o) for o in self.ops],
                "input": self.input, "output": self.output}

    def param(self, name: str) -> ParamSpec:
        for p in self.params:
            if p.name == name:
                return p
        raise KeyError(name)


def param_count(spec: ModelSpec) -> int:
    return sum(p.size for p in spec.params)


class SpecError(ValueError):
    """A ModelSpec given as JSON that cannot be executed: names what is wrong."""


def spec_from_json(obj: Any) -> ModelSpec:
    """A ModelSpec from its JSON form (as the TypeScript side serializes it), checked."""
    if not isinstance(obj, dict):
        raise SpecError("model spec: expected an object")
    for key in ("arch", "inputShape", "numClasses", "params", "ops", "input", "output"):
        if key not in obj:
            raise SpecError(f'model spec: missing field "{key}"')
    params = []
    for i, p in enumerate(obj["params"]):
        try:
            shape = tuple(int(x) for x in p["shape"])
            size = 1
            for x in shape:
                size *= x
            if p["kind"] not in PARAM_KINDS:
                raise SpecError(f'model spec: params[{i}].kind "{p["kind"]}" is not one of {", ".join(PARAM_KINDS)}')
            if int(p.get("size", size)) != size:
                raise SpecError(f"model spec: params[{i}] ({p['name']}) has size {p['size']} but shape {shape}")
            params.append(ParamSpec(str(p["name"]), shape, p["kind"], size, int(p["fanIn"]), int(p["fanOut"]),
                                    str(p["layer"]), str(p.get("position", "middle"))))
        except (KeyError, TypeError, ValueError) as e:
            if isinstance(e, SpecError):
                raise
            raise SpecError(f"model spec: params[{i}] is malformed ({e})") from None
    for i, op in enumerate(obj["ops"]):
        if not isinstance(op, dict) or op.get("op") not in OP_KINDS:
            raise SpecError(f"model spec: ops[{i}] has an unknown op {op.get('op') if isinstance(op, dict) else op!r}")
    h, w, c = (int(x) for x in obj["inputShape"])
    spec = ModelSpec(str(obj["arch"]), (h, w, c), int(obj["numClasses"]), params, [dict(o) for o in obj["ops"]],
                     str(obj["input"]), str(obj["output"]))
    infer_shapes(spec)
    return spec


class SpecBuilder:
    """Builds a ModelSpec while tracking names, as spec.ts's SpecBuilder (same fresh names)."""

    def __init__(self, arch: str, input_shape: Tuple[int, int, int], num_classes: int) -> None:
        self.arch = arch
        self.inputShape = input_shape
        self.numClasses = num_classes
        self.params: List[Dict[str, Any]] = []
        self.ops: List[Dict[str, Any]] = []
        self.counter = 0
        self.weight_layers: List[str] = []

    def fresh(self, prefix: str) -> str:
        name = f"{prefix}#{self.counter}"
        self.counter += 1
        return name

    def add_param(self, name: str, shape: Sequence[int], kind: str, fan_in: int, fan_out: int, layer: str) -> str:
        size = 1
        for x in shape:
            size *= x
        self.params.append(dict(name=name, shape=tuple(shape), kind=kind, size=size, fanIn=fan_in, fanOut=fan_out, layer=layer))
        return name

    def conv(self, inp: str, name: str, cin: int, cout: int, k: int, stride: int, bias: bool = False, padding: str = "same") -> str:
        weight = self.add_param(f"{name}.kernel", [k, k, cin, cout], "conv", k * k * cin, k * k * cout, name)
        b = self.add_param(f"{name}.bias", [cout], "bias", k * k * cin, cout, name) if bias else None
        out = self.fresh(name)
        op = {"op": "conv", "name": name, "input": inp, "output": out, "weight": weight}
        if b:
            op["bias"] = b
        op["stride"] = stride
        op["padding"] = padding
        self.ops.append(op)
        self.weight_layers.append(name)
        return out

    def dense(self, inp: str, name: str, units: int, fan_in: int) -> str:
        weight = self.add_param(f"{name}.kernel", [fan_in, units], "dense", fan_in, units, name)
        b = self.add_param(f"{name}.bias", [units], "bias", fan_in, units, name)
        out = self.fresh(name)
        self.ops.append({"op": "dense", "name": name, "input": inp, "output": out, "weight": weight, "bias": b})
        self.weight_layers.append(name)
        return out

    def batchnorm(self, inp: str, name: str, channels: int) -> str:
        gamma = self.add_param(f"{name}.gamma", [channels], "bn-gamma", 1, 1, name)
        beta = self.add_param(f"{name}.beta", [channels], "bn-beta", 1, 1, name)
        out = self.fresh(name)
        self.ops.append({"op": "batchnorm", "name": name, "input": inp, "output": out, "gamma": gamma, "beta": beta})
        return out

    def relu(self, inp: str) -> str:
        out = self.fresh("relu")
        self.ops.append({"op": "relu", "input": inp, "output": out})
        return out

    def maxpool(self, inp: str, size: int, stride: int, padding: str = "valid") -> str:
        out = self.fresh("maxpool")
        self.ops.append({"op": "maxpool", "input": inp, "output": out, "size": size, "stride": stride, "padding": padding})
        return out

    def global_avg_pool(self, inp: str) -> str:
        out = self.fresh("gap")
        self.ops.append({"op": "globalavgpool", "input": inp, "output": out})
        return out

    def flatten(self, inp: str) -> str:
        out = self.fresh("flatten")
        self.ops.append({"op": "flatten", "input": inp, "output": out})
        return out

    def add(self, a: str, b: str) -> str:
        out = self.fresh("add")
        self.ops.append({"op": "add", "inputs": [a, b], "output": out})
        return out

    def pad_shortcut(self, inp: str, stride: int, out_channels: int) -> str:
        out = self.fresh("shortcut")
        self.ops.append({"op": "pad-shortcut", "input": inp, "output": out, "stride": stride, "outChannels": out_channels})
        return out

    def build(self, output: str) -> ModelSpec:
        first = self.weight_layers[0] if self.weight_layers else None
        last = self.weight_layers[-1] if self.weight_layers else None
        params = [ParamSpec(p["name"], p["shape"], p["kind"], p["size"], p["fanIn"], p["fanOut"], p["layer"],
                            "first" if p["layer"] == first else "last" if p["layer"] == last else "middle")
                  for p in self.params]
        return ModelSpec(self.arch, self.inputShape, self.numClasses, params, self.ops, "input", output)


# ---- shape inference (shapes.ts) ---------------------------------------------------------------

class ShapeError(ValueError):
    def __init__(self, layer: str, message: str) -> None:
        super().__init__(message)
        self.layer = layer


def _spatial(n: int, k: int, stride: int, padding: str) -> int:
    return -(-n // stride) if padding == "same" else (n - k) // stride + 1


def infer_shapes(spec: ModelSpec) -> Dict[str, List[int]]:
    """The shape (without batch) of every named value; ShapeError when impossible."""
    shapes: Dict[str, List[int]] = {spec.input: list(spec.inputShape)}
    params = {p.name: p.shape for p in spec.params}
    input_size = f"{spec.inputShape[0]}×{spec.inputShape[1]}"

    def get(name: str, layer: str) -> List[int]:
        if name not in shapes:
            raise ShapeError(layer, f"{layer}: input {name} is not defined")
        return shapes[name]

    for op in spec.ops:
        kind = op["op"]
        if kind == "conv":
            h, w, c = get(op["input"], op["name"])
            k, _, cin, cout = params[op["weight"]]
            if c != cin:
                raise ShapeError(op["name"], f"{op['name']}: expects {cin} input channels, got {c}")
            oh, ow = _spatial(h, k, op["stride"], op["padding"]), _spatial(w, k, op["stride"], op["padding"])
            if oh < 1 or ow < 1:
                raise ShapeError(op["name"], f"{op['name']}: a {k}×{k} kernel does not fit its {h}×{w} input (model input {input_size} is too small)")
            out = [oh, ow, cout]
        elif kind == "maxpool":
            h, w, c = get(op["input"], "maxpool")
            oh, ow = _spatial(h, op["size"], op["stride"], op["padding"]), _spatial(w, op["size"], op["stride"], op["padding"])
            if oh < 1 or ow < 1:
                raise ShapeError("maxpool", f"a {op['size']}×{op['size']} pool does not fit a {h}×{w} activation (model input {input_size} is too small)")
            out = [oh, ow, c]
        elif kind == "dense":
            s = get(op["input"], op["name"])
            fan_in, units = params[op["weight"]]
            if len(s) != 1 or s[0] != fan_in:
                raise ShapeError(op["name"], f"{op['name']}: expects {fan_in} inputs, got {'×'.join(str(x) for x in s)} (check the model input size {input_size})")
            if fan_in < 1:
                raise ShapeError(op["name"], f"{op['name']}: has no inputs (model input {input_size} is too small)")
            out = [units]
        elif kind in ("batchnorm", "relu"):
            out = list(get(op["input"], op["name"] if kind == "batchnorm" else "relu"))
        elif kind == "globalavgpool":
            out = [get(op["input"], "globalavgpool")[2]]
        elif kind == "flatten":
            n = 1
            for x in get(op["input"], "flatten"):
                n *= x
            out = [n]
        elif kind == "add":
            a = get(op["inputs"][0], "add")
            b = get(op["inputs"][1], "add")
            if a != b:
                raise ShapeError("add", f"residual add of {'×'.join(map(str, a))} and {'×'.join(map(str, b))}")
            out = list(a)
        elif kind == "pad-shortcut":
            h, w, _ = get(op["input"], "shortcut")
            out = [-(-h // op["stride"]), -(-w // op["stride"]), op["outChannels"]]
        else:
            raise ShapeError(str(kind), f"unknown op {kind}")
        shapes[op["output"]] = out
    return shapes


# ---- architectures (architectures.ts) -----------------------------------------------------------

def js_round(x: float) -> int:
    """Math.round: halves round up (towards +∞)."""
    return int(math.floor(x + 0.5))


def scaled(channels: int, width: float) -> int:
    return max(1, js_round(channels * width))


def _mlp(b: SpecBuilder, m: Dict[str, Any]) -> ModelSpec:
    x = b.flatten("input")
    units = b.inputShape[0] * b.inputShape[1] * b.inputShape[2]
    for i, h in enumerate(m["hidden"]):
        w = scaled(h, m["width"])
        x = b.relu(b.dense(x, f"fc{i + 1}", w, units))
        units = w
    return b.build(b.dense(x, f"fc{len(m['hidden']) + 1}", b.numClasses, units))


def _lenet5(b: SpecBuilder, m: Dict[str, Any]) -> ModelSpec:
    h, w, c = b.inputShape
    c1, c2 = scaled(6, m["width"]), scaled(16, m["width"])
    x = b.relu(b.conv("input", "conv1", c, c1, 5, 1, bias=True, padding="valid"))
    x = b.maxpool(x, 2, 2)
    x = b.relu(b.conv(x, "conv2", c1, c2, 5, 1, bias=True, padding="valid"))
    x = b.flatten(b.maxpool(x, 2, 2))
    side = lambda n: math.floor((math.floor((n - 4) / 2) - 4) / 2)  # noqa: E731
    flat = max(0, side(h)) * max(0, side(w)) * c2
    x = b.relu(b.dense(x, "fc1", scaled(120, m["width"]), flat))
    x = b.relu(b.dense(x, "fc2", scaled(84, m["width"]), scaled(120, m["width"])))
    return b.build(b.dense(x, "fc3", b.numClasses, scaled(84, m["width"])))


def _conv_bn(b: SpecBuilder, m: Dict[str, Any], x: str, name: str, cin: int, cout: int, k: int, stride: int) -> str:
    y = b.conv(x, name, cin, cout, k, stride)
    return b.batchnorm(y, f"{name}.bn", cout) if m["batchNorm"] else y


def _cifar_resnet(blocks_per_stage: int) -> Callable[[SpecBuilder, Dict[str, Any]], ModelSpec]:
    def build(b: SpecBuilder, m: Dict[str, Any]) -> ModelSpec:
        widths = [scaled(c, m["width"]) for c in (16, 32, 64)]
        x = b.relu(_conv_bn(b, m, "input", "conv1", b.inputShape[2], widths[0], 3, 1))
        cin = widths[0]
        for stage, cout in enumerate(widths):
            for block in range(blocks_per_stage):
                stride = 2 if stage > 0 and block == 0 else 1
                name = f"layer{stage + 1}.{block}"
                y = b.relu(_conv_bn(b, m, x, f"{name}.conv1", cin, cout, 3, stride))
                y = _conv_bn(b, m, y, f"{name}.conv2", cout, cout, 3, 1)
                shortcut = b.pad_shortcut(x, stride, cout) if stride != 1 or cin != cout else x
                x = b.relu(b.add(y, shortcut))
                cin = cout
        return b.build(b.dense(b.global_avg_pool(x), "fc", b.numClasses, cin))
    return build


def _imagenet_resnet(blocks: Sequence[int]) -> Callable[[SpecBuilder, Dict[str, Any]], ModelSpec]:
    def build(b: SpecBuilder, m: Dict[str, Any]) -> ModelSpec:
        widths = [scaled(c, m["width"]) for c in (64, 128, 256, 512)]
        if m["smallInput"]:
            x = b.relu(_conv_bn(b, m, "input", "conv1", b.inputShape[2], widths[0], 3, 1))
        else:
            x = b.relu(_conv_bn(b, m, "input", "conv1", b.inputShape[2], widths[0], 7, 2))
            x = b.maxpool(x, 3, 2, "same")
        cin = widths[0]
        for stage, cout in enumerate(widths):
            for block in range(blocks[stage]):
                stride = 2 if stage > 0 and block == 0 else 1
                name = f"layer{stage + 1}.{block}"
                y = b.relu(_conv_bn(b, m, x, f"{name}.conv1", cin, cout, 3, stride))
                y = _conv_bn(b, m, y, f"{name}.conv2", cout, cout, 3, 1)
                shortcut = _conv_bn(b, m, x, f"{name}.downsample", cin, cout, 1, stride) if stride != 1 or cin != cout else x
                x = b.relu(b.add(y, shortcut))
                cin = cout
        return b.build(b.dense(b.global_avg_pool(x), "fc", b.numClasses, cin))
    return build


BUILDERS: Dict[str, Callable[[SpecBuilder, Dict[str, Any]], ModelSpec]] = {
    "mlp": _mlp,
    "lenet5": _lenet5,
    "resnet20": _cifar_resnet(3),
    "resnet32": _cifar_resnet(5),
    "resnet56": _cifar_resnet(9),
    "resnet18": _imagenet_resnet([2, 2, 2, 2]),
    "resnet34": _imagenet_resnet([3, 4, 6, 3]),
}


def build_model_spec(model: Dict[str, Any], height: int, width: int, channels: int, num_classes: int) -> ModelSpec:
    """buildModelSpec: the architecture of a validated ``model`` config for an input shape."""
    classes = model.get("numClasses", num_classes)
    spec = BUILDERS[model["arch"]](SpecBuilder(model["arch"], (height, width, channels), classes), model)
    infer_shapes(spec)
    return spec
