"""Models as data, as src/core/models/{spec,shapes,architectures}.ts: the same ParamSpecs (names,
shapes in TensorFlow layout — conv [kh, kw, cin/groups, cout], depthwise [kh, kw, c, multiplier],
dense and attention [in, out], embedding [vocab, dim] —, kinds, fans, first/last position) and
ops in the same order, so plans and checkpoints agree between engines. Every built-in is built
here too (the MLP, LeNet-5, the ResNets, VGG-11/16, MobileNetV2 and the ViT).

A ModelSpec can also be read from JSON (``spec_from_json``): a spec resolved by the TypeScript
side — a ``model.graph``, a ``model.import`` — runs here unchanged.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

# spec.ts ParamKind and Op, in its order.
PARAM_KINDS = ("conv", "dense", "depthwise", "attention", "embedding", "bias", "bn-gamma", "bn-beta", "ln-gamma", "ln-beta", "token", "position")
# The kinds the ring can generate (spec.ts KERNEL_KINDS); everything else is free unless rpg.generate is "all".
KERNEL_KINDS = ("conv", "depthwise", "dense", "attention", "embedding")
OP_KINDS = ("conv", "depthwise", "dense", "batchnorm", "layernorm", "relu", "activation", "maxpool", "avgpool", "globalavgpool",
            "globalmaxpool", "flatten", "reshape", "dropout", "add", "concat", "embedding", "attention", "class-token",
            "position-embedding", "select-token", "pad-shortcut")
ACTIVATIONS = ("relu6", "gelu", "sigmoid", "tanh", "softmax")


def is_kernel_kind(kind: str) -> bool:
    return kind in KERNEL_KINDS


def op_inputs(op: Dict[str, Any]) -> List[str]:
    """The values an op reads (spec.ts opInputs)."""
    return list(op["inputs"]) if op["op"] in ("add", "concat") else [op["input"]]


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
        by_name = self.__dict__.get("_by_name")
        if by_name is None or len(by_name) != len(self.params):
            by_name = self.__dict__["_by_name"] = {p.name: p for p in self.params}
        return by_name[name]


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
        if op["op"] == "activation" and op.get("fn") not in ACTIVATIONS:
            raise SpecError(f'model spec: ops[{i}].fn {op.get("fn")!r} is not one of {", ".join(ACTIVATIONS)}')
    h, w, c = (int(x) for x in obj["inputShape"])
    spec = ModelSpec(str(obj["arch"]), (h, w, c), int(obj["numClasses"]), params, [dict(o) for o in obj["ops"]],
                     str(obj["input"]), str(obj["output"]))
    infer_shapes(spec)
    return spec


class SpecBuilder:
    """Builds a ModelSpec while tracking names, as spec.ts's SpecBuilder (same fresh names, the same
    fields in the same order in every op)."""

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

    def conv(self, inp: str, name: str, cin: int, cout: int, k: int, stride: int, bias: bool = False, padding: str = "same",
             dilation: int = 1, groups: int = 1) -> str:
        weight = self.add_param(f"{name}.kernel", [k, k, cin // groups, cout], "conv", (k * k * cin) // groups, (k * k * cout) // groups, name)
        b = self.add_param(f"{name}.bias", [cout], "bias", (k * k * cin) // groups, cout, name) if bias else None
        return self._windowed("conv", inp, name, weight, b, stride, padding, dilation=dilation, groups=groups)

    def depthwise(self, inp: str, name: str, channels: int, k: int, stride: int, bias: bool = False, padding: str = "same",
                  dilation: int = 1, multiplier: int = 1) -> str:
        m = multiplier
        weight = self.add_param(f"{name}.kernel", [k, k, channels, m], "depthwise", k * k, k * k * m, name)
        b = self.add_param(f"{name}.bias", [channels * m], "bias", k * k, channels * m, name) if bias else None
        return self._windowed("depthwise", inp, name, weight, b, stride, padding, dilation=dilation)

    def _windowed(self, kind: str, inp: str, name: str, weight: str, b: Optional[str], stride: int, padding: str,
                  **optional: int) -> str:
        """The op of a convolution-like layer; attributes at their default of 1 are left out."""
        out = self.fresh(name)
        op: Dict[str, Any] = {"op": kind, "name": name, "input": inp, "output": out, "weight": weight}
        if b:
            op["bias"] = b
        op["stride"] = stride
        op["padding"] = padding
        op.update({k: v for k, v in optional.items() if v != 1})
        self.ops.append(op)
        self.weight_layers.append(name)
        return out

    def dense(self, inp: str, name: str, units: int, fan_in: int, bias: bool = True) -> str:
        weight = self.add_param(f"{name}.kernel", [fan_in, units], "dense", fan_in, units, name)
        b = self.add_param(f"{name}.bias", [units], "bias", fan_in, units, name) if bias else None
        out = self.fresh(name)
        op: Dict[str, Any] = {"op": "dense", "name": name, "input": inp, "output": out, "weight": weight}
        if b:
            op["bias"] = b
        self.ops.append(op)
        self.weight_layers.append(name)
        return out

    def batchnorm(self, inp: str, name: str, channels: int, epsilon: Optional[float] = None) -> str:
        gamma = self.add_param(f"{name}.gamma", [channels], "bn-gamma", 1, 1, name)
        beta = self.add_param(f"{name}.beta", [channels], "bn-beta", 1, 1, name)
        out = self.fresh(name)
        op: Dict[str, Any] = {"op": "batchnorm", "name": name, "input": inp, "output": out, "gamma": gamma, "beta": beta}
        if epsilon is not None and epsilon != 1e-5:
            op["epsilon"] = epsilon
        self.ops.append(op)
        return out

    def layer_norm(self, inp: str, name: str, dim: int, epsilon: float = 1e-5) -> str:
        gamma = self.add_param(f"{name}.gamma", [dim], "ln-gamma", 1, 1, name)
        beta = self.add_param(f"{name}.beta", [dim], "ln-beta", 1, 1, name)
        out = self.fresh(name)
        self.ops.append({"op": "layernorm", "name": name, "input": inp, "output": out, "gamma": gamma, "beta": beta, "epsilon": epsilon})
        return out

    def activation(self, inp: str, fn: str) -> str:
        out = self.fresh(fn)
        self.ops.append({"op": "activation", "fn": fn, "input": inp, "output": out})
        return out

    def relu(self, inp: str) -> str:
        out = self.fresh("relu")
        self.ops.append({"op": "relu", "input": inp, "output": out})
        return out

    def maxpool(self, inp: str, size: int, stride: int, padding: str = "valid") -> str:
        out = self.fresh("maxpool")
        self.ops.append({"op": "maxpool", "input": inp, "output": out, "size": size, "stride": stride, "padding": padding})
        return out

    def avgpool(self, inp: str, size: int, stride: int, padding: str = "valid") -> str:
        out = self.fresh("avgpool")
        self.ops.append({"op": "avgpool", "input": inp, "output": out, "size": size, "stride": stride, "padding": padding})
        return out

    def global_avg_pool(self, inp: str) -> str:
        out = self.fresh("gap")
        self.ops.append({"op": "globalavgpool", "input": inp, "output": out})
        return out

    def global_max_pool(self, inp: str) -> str:
        out = self.fresh("gmp")
        self.ops.append({"op": "globalmaxpool", "input": inp, "output": out})
        return out

    def flatten(self, inp: str) -> str:
        out = self.fresh("flatten")
        self.ops.append({"op": "flatten", "input": inp, "output": out})
        return out

    def reshape(self, inp: str, shape: Sequence[int]) -> str:
        out = self.fresh("reshape")
        self.ops.append({"op": "reshape", "input": inp, "output": out, "shape": list(shape)})
        return out

    def dropout(self, inp: str, name: str, rate: float) -> str:
        out = self.fresh(name)
        self.ops.append({"op": "dropout", "name": name, "input": inp, "output": out, "rate": rate})
        return out

    def add(self, a: str, b: str) -> str:
        out = self.fresh("add")
        self.ops.append({"op": "add", "inputs": [a, b], "output": out})
        return out

    def concat(self, inputs: Sequence[str], axis: int) -> str:
        out = self.fresh("concat")
        self.ops.append({"op": "concat", "inputs": list(inputs), "output": out, "axis": axis})
        return out

    def embedding(self, inp: str, name: str, vocab: int, dim: int) -> str:
        weight = self.add_param(f"{name}.embeddings", [vocab, dim], "embedding", 1, dim, name)
        out = self.fresh(name)
        self.ops.append({"op": "embedding", "name": name, "input": inp, "output": out, "weight": weight})
        self.weight_layers.append(name)
        return out

    def attention(self, inp: str, name: str, dim: int, heads: int, key_dim: int, bias: bool = True) -> str:
        inner = heads * key_dim

        def proj(part: str, fan_in: int, fan_out: int) -> Tuple[str, Optional[str]]:
            w = self.add_param(f"{name}.{part}.kernel", [fan_in, fan_out], "attention", fan_in, fan_out, name)
            b = self.add_param(f"{name}.{part}.bias", [fan_out], "bias", fan_in, fan_out, name) if bias else None
            return w, b

        query, query_bias = proj("query", dim, inner)
        key, key_bias = proj("key", dim, inner)
        value, value_bias = proj("value", dim, inner)
        out_w, out_bias = proj("output", inner, dim)
        out = self.fresh(name)
        op: Dict[str, Any] = {"op": "attention", "name": name, "input": inp, "output": out, "heads": heads, "query": query, "key": key,
                              "value": value, "out": out_w}
        for field, b in (("queryBias", query_bias), ("keyBias", key_bias), ("valueBias", value_bias), ("outBias", out_bias)):
            if b:
                op[field] = b
        self.ops.append(op)
        self.weight_layers.append(name)
        return out

    def class_token(self, inp: str, name: str, dim: int) -> str:
        token = self.add_param(f"{name}.token", [dim], "token", 1, dim, name)
        out = self.fresh(name)
        self.ops.append({"op": "class-token", "name": name, "input": inp, "output": out, "token": token})
        return out

    def position_embedding(self, inp: str, name: str, tokens: int, dim: int) -> str:
        table = self.add_param(f"{name}.embeddings", [tokens, dim], "position", 1, dim, name)
        out = self.fresh(name)
        self.ops.append({"op": "position-embedding", "name": name, "input": inp, "output": out, "table": table})
        return out

    def select_token(self, inp: str, index: int) -> str:
        out = self.fresh("token")
        self.ops.append({"op": "select-token", "input": inp, "output": out, "index": index})
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


def _spatial(n: int, k: int, stride: int, padding: str, dilation: int = 1) -> int:
    eff = dilation * (k - 1) + 1
    return -(-n // stride) if padding == "same" else (n - eff) // stride + 1


def _dims(s: Sequence[int]) -> str:
    return "×".join(str(x) for x in s)


def infer_shapes(spec: ModelSpec) -> Dict[str, List[int]]:
    """The shape (without batch) of every named value; ShapeError when impossible (shapes.ts)."""
    shapes: Dict[str, List[int]] = {spec.input: list(spec.inputShape)}
    params = {p.name: p.shape for p in spec.params}
    input_size = f"{spec.inputShape[0]}×{spec.inputShape[1]}"

    def get(name: str, layer: str) -> List[int]:
        if name not in shapes:
            raise ShapeError(layer, f"{layer}: input {name} is not defined")
        return shapes[name]

    def image(s: List[int], layer: str, what: str) -> List[int]:
        if len(s) != 3:
            raise ShapeError(layer, f"{layer}: {what} needs an image (height×width×channels), got {_dims(s)}")
        return s

    def sequence(s: List[int], layer: str, what: str) -> List[int]:
        if len(s) != 2:
            raise ShapeError(layer, f"{layer}: {what} needs a token sequence (tokens×dim), got {_dims(s)}")
        return s

    for op in spec.ops:
        kind = op["op"]
        if kind == "conv":
            h, w, c = image(get(op["input"], op["name"]), op["name"], "a convolution")
            k, _, cin_per_group, cout = params[op["weight"]]
            groups = op.get("groups", 1)
            if c != cin_per_group * groups:
                raise ShapeError(op["name"], f"{op['name']}: expects {cin_per_group * groups} input channels, got {c}")
            d = op.get("dilation", 1)
            oh, ow = _spatial(h, k, op["stride"], op["padding"], d), _spatial(w, k, op["stride"], op["padding"], d)
            if oh < 1 or ow < 1:
                raise ShapeError(op["name"], f"{op['name']}: a {k}×{k} kernel does not fit its {h}×{w} input (model input {input_size} is too small)")
            out = [oh, ow, cout]
        elif kind == "depthwise":
            h, w, c = image(get(op["input"], op["name"]), op["name"], "a depthwise convolution")
            k, _, channels, m = params[op["weight"]]
            if c != channels:
                raise ShapeError(op["name"], f"{op['name']}: expects {channels} input channels, got {c}")
            d = op.get("dilation", 1)
            oh, ow = _spatial(h, k, op["stride"], op["padding"], d), _spatial(w, k, op["stride"], op["padding"], d)
            if oh < 1 or ow < 1:
                raise ShapeError(op["name"], f"{op['name']}: a {k}×{k} kernel does not fit its {h}×{w} input (model input {input_size} is too small)")
            out = [oh, ow, c * m]
        elif kind in ("maxpool", "avgpool"):
            h, w, c = image(get(op["input"], kind), kind, "pooling")
            oh, ow = _spatial(h, op["size"], op["stride"], op["padding"]), _spatial(w, op["size"], op["stride"], op["padding"])
            if oh < 1 or ow < 1:
                raise ShapeError(kind, f"a {op['size']}×{op['size']} pool does not fit a {h}×{w} activation (model input {input_size} is too small)")
            out = [oh, ow, c]
        elif kind == "dense":
            s = get(op["input"], op["name"])
            fan_in, units = params[op["weight"]]
            if len(s) < 1 or s[-1] != fan_in:
                raise ShapeError(op["name"], f"{op['name']}: expects {fan_in} inputs, got {_dims(s)} (check the model input size {input_size})")
            if fan_in < 1:
                raise ShapeError(op["name"], f"{op['name']}: has no inputs (model input {input_size} is too small)")
            out = list(s[:-1]) + [units]
        elif kind in ("batchnorm", "layernorm"):
            s = get(op["input"], op["name"])
            c = params[op["gamma"]][0]
            if not s or s[-1] != c:
                raise ShapeError(op["name"], f"{op['name']}: normalizes {c} features, got {_dims(s)}")
            out = list(s)
        elif kind in ("relu", "activation", "dropout"):
            out = list(get(op["input"], op["name"] if kind == "dropout" else kind))
        elif kind in ("globalavgpool", "globalmaxpool"):
            s = get(op["input"], kind)
            if len(s) < 2:
                raise ShapeError(kind, f"global pooling needs an image or a sequence, got {_dims(s)}")
            out = [s[-1]]
        elif kind == "flatten":
            n = 1
            for x in get(op["input"], "flatten"):
                n *= x
            out = [n]
        elif kind == "reshape":
            s = get(op["input"], "reshape")
            size = 1
            for x in s:
                size *= x
            to = 1
            for x in op["shape"]:
                to *= x
            if size != to:
                raise ShapeError("reshape", f"reshape of {_dims(s)} ({size} values) to {_dims(op['shape'])} ({to})")
            out = list(op["shape"])
        elif kind == "add":
            a = get(op["inputs"][0], "add")
            b = get(op["inputs"][1], "add")
            if a != b:
                raise ShapeError("add", f"residual add of {_dims(a)} and {_dims(b)}")
            out = list(a)
        elif kind == "concat":
            all_shapes = [get(i, "concat") for i in op["inputs"]]
            first = all_shapes[0]
            axis = op["axis"]
            for s in all_shapes:
                if len(s) != len(first) or any(i != axis and d != first[i] for i, d in enumerate(s)):
                    raise ShapeError("concat", f"concat along axis {axis} of {' and '.join(_dims(x) for x in all_shapes)}")
            out = [sum(s[i] for s in all_shapes) if i == axis else d for i, d in enumerate(first)]
        elif kind == "embedding":
            s = get(op["input"], op["name"])
            out = list(s) + [params[op["weight"]][1]]
        elif kind == "attention":
            t, d = sequence(get(op["input"], op["name"]), op["name"], "self-attention")
            fan_in = params[op["query"]][0]
            if fan_in != d:
                raise ShapeError(op["name"], f"{op['name']}: expects {fan_in}-dim tokens, got {t}×{d}")
            out = [t, params[op["out"]][1]]
        elif kind == "class-token":
            t, d = sequence(get(op["input"], op["name"]), op["name"], "a class token")
            if params[op["token"]][0] != d:
                raise ShapeError(op["name"], f"{op['name']}: a {params[op['token']][0]}-dim token for {d}-dim tokens")
            out = [t + 1, d]
        elif kind == "position-embedding":
            s = sequence(get(op["input"], op["name"]), op["name"], "a position embedding")
            table = list(params[op["table"]])
            if table != list(s):
                raise ShapeError(op["name"], f"{op['name']}: a {_dims(table)} table for a {_dims(s)} sequence")
            out = list(s)
        elif kind == "select-token":
            t, d = sequence(get(op["input"], "select-token"), "select-token", "selecting a token")
            if op["index"] >= t:
                raise ShapeError("select-token", f"token {op['index']} of a {t}-token sequence")
            out = [d]
        elif kind == "pad-shortcut":
            h, w = get(op["input"], "shortcut")[:2]
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


def _conv_bn_act(b: SpecBuilder, m: Dict[str, Any], x: str, name: str, cin: int, cout: int, k: int, stride: int, act: str,
                 bias: bool = False) -> str:
    y = b.conv(x, name, cin, cout, k, stride, bias=bias)
    z = b.batchnorm(y, f"{name}.bn", cout) if m["batchNorm"] else y
    return b.relu(z) if act == "relu" else b.activation(z, "relu6") if act == "relu6" else z


VGG_STAGES = {
    "vgg11": (64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"),
    "vgg16": (64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"),
}


def _vgg(stages: Sequence[Any]) -> Callable[[SpecBuilder, Dict[str, Any]], ModelSpec]:
    """VGG with BatchNorm as torchvision builds it (architectures.ts vgg): the ImageNet head
    (flatten, 4096-4096-classes with dropout 0.5) or, with smallInput, the CIFAR head."""
    def build(b: SpecBuilder, m: Dict[str, Any]) -> ModelSpec:
        x = "input"
        cin = b.inputShape[2]
        conv = 0
        for s in stages:
            if s == "M":
                x = b.maxpool(x, 2, 2)
                continue
            cout = scaled(s, m["width"])
            x = _conv_bn_act(b, m, x, f"features.{conv}", cin, cout, 3, 1, "relu", bias=True)
            conv += 1
            cin = cout
        if m["smallInput"]:
            return b.build(b.dense(b.global_avg_pool(x), "classifier", b.numClasses, cin))
        hidden = scaled(4096, m["width"])

        def side(n: int) -> int:
            for s in stages:
                if s == "M":
                    n = n // 2
            return n

        x = b.flatten(x)
        x = b.dropout(b.relu(b.dense(x, "classifier.0", hidden, side(b.inputShape[0]) * side(b.inputShape[1]) * cin)), "classifier.0.dropout", 0.5)
        x = b.dropout(b.relu(b.dense(x, "classifier.1", hidden, hidden)), "classifier.1.dropout", 0.5)
        return b.build(b.dense(x, "classifier.2", b.numClasses, hidden))
    return build


def _divisible(v: float, by: int = 8) -> int:
    """torchvision's _make_divisible: a multiple of 8, never more than 10% down."""
    r = max(by, math.floor((v + by / 2) / by) * by)
    return int(r + by if r < 0.9 * v else r)


def _mobilenet_v2(b: SpecBuilder, m: Dict[str, Any]) -> ModelSpec:
    settings = ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1))
    cin = _divisible(32 * m["width"])
    x = _conv_bn_act(b, m, "input", "features.0", b.inputShape[2], cin, 3, 1 if m["smallInput"] else 2, "relu6")
    index = 1
    for t, c, n, s in settings:
        cout = _divisible(c * m["width"])
        for i in range(n):
            stride = s if i == 0 else 1
            name = f"features.{index}"
            index += 1
            hidden = js_round(cin * t)
            y = x
            if t != 1:
                y = _conv_bn_act(b, m, y, f"{name}.expand", cin, hidden, 1, 1, "relu6")
            y = b.depthwise(y, f"{name}.depthwise", hidden, 3, stride)
            if m["batchNorm"]:
                y = b.batchnorm(y, f"{name}.depthwise.bn", hidden)
            y = b.activation(y, "relu6")
            y = _conv_bn_act(b, m, y, f"{name}.project", hidden, cout, 1, 1, "none")
            x = b.add(y, x) if stride == 1 and cin == cout else y
            cin = cout
    last = _divisible(1280 * max(1, m["width"]))
    x = _conv_bn_act(b, m, x, f"features.{index}", cin, last, 1, 1, "relu6")
    x = b.dropout(b.global_avg_pool(x), "classifier.dropout", 0.2)
    return b.build(b.dense(x, "classifier", b.numClasses, last))


VIT_DEFAULTS = {"patch": 4, "dim": 64, "depth": 4, "heads": 4, "mlpDim": 128, "dropout": 0}


def _vit(b: SpecBuilder, m: Dict[str, Any]) -> ModelSpec:
    """The small vision transformer of architectures.ts vit: patch embedding, class token,
    learnable position embedding, pre-norm blocks (LN → attention → add; LN → dense → GELU →
    dense → add), a final LN and the head on the class token."""
    v = {**VIT_DEFAULTS, **(m.get("vit") or {})}
    dim = scaled(v["dim"], m["width"])
    h, w, c = b.inputShape
    tokens = (h // v["patch"]) * (w // v["patch"])
    if dim % v["heads"] != 0:
        raise ShapeError("blocks.0.attn", f"vit: dim {dim} does not split into {v['heads']} heads (model.vit.heads must divide model.vit.dim)")
    if tokens < 1:
        raise ShapeError("patch_embed", f"vit: a {v['patch']}×{v['patch']} patch does not fit the {h}×{w} input")
    x = b.reshape(b.conv("input", "patch_embed", c, dim, v["patch"], v["patch"], bias=True, padding="valid"), [tokens, dim])
    x = b.position_embedding(b.class_token(x, "cls_token", dim), "pos_embed", tokens + 1, dim)

    def drop(y: str, name: str) -> str:
        return b.dropout(y, name, v["dropout"]) if v["dropout"] > 0 else y

    mlp = scaled(v["mlpDim"], m["width"])
    for i in range(v["depth"]):
        name = f"blocks.{i}"
        y = b.attention(b.layer_norm(x, f"{name}.norm1", dim, 1e-6), f"{name}.attn", dim, v["heads"], dim // v["heads"])
        x = b.add(x, drop(y, f"{name}.attn.dropout"))
        y = b.activation(b.dense(b.layer_norm(x, f"{name}.norm2", dim, 1e-6), f"{name}.mlp.fc1", mlp, dim), "gelu")
        y = b.dense(y, f"{name}.mlp.fc2", dim, mlp)
        x = b.add(x, drop(y, f"{name}.mlp.dropout"))
    x = b.select_token(b.layer_norm(x, "norm", dim, 1e-6), 0)
    return b.build(b.dense(x, "head", b.numClasses, dim))


BUILDERS: Dict[str, Callable[[SpecBuilder, Dict[str, Any]], ModelSpec]] = {
    "mlp": _mlp,
    "lenet5": _lenet5,
    "resnet20": _cifar_resnet(3),
    "resnet32": _cifar_resnet(5),
    "resnet56": _cifar_resnet(9),
    "resnet18": _imagenet_resnet([2, 2, 2, 2]),
    "resnet34": _imagenet_resnet([3, 4, 6, 3]),
    "vgg11": _vgg(VGG_STAGES["vgg11"]),
    "vgg16": _vgg(VGG_STAGES["vgg16"]),
    "mobilenetv2": _mobilenet_v2,
    "vit": _vit,
}


class NeedsResolvedSpec(ValueError):
    """A model.graph or model.import: compiled by the TypeScript core, which hands the result over."""

    def __init__(self, field: str) -> None:
        self.field = field
        what = "a graph" if field == "model.graph" else "an imported Keras model"
        super().__init__(f"{field}: {what} is compiled by the TypeScript core, which hands the torch engine the resolved model: "
                         "train it with `rpg train CONFIG --engine torch` (or `rpg export --format torchrun`), or plan it with `rpg plan`")


def build_model_spec(model: Dict[str, Any], height: int, width: int, channels: int, num_classes: int) -> ModelSpec:
    """buildModelSpec: the architecture of a validated ``model`` config for an input shape."""
    if model.get("graph") is not None:
        raise NeedsResolvedSpec("model.graph")
    if model.get("import") is not None:
        raise NeedsResolvedSpec("model.import")
    classes = model["numClasses"] if model.get("numClasses") is not None else num_classes
    arch = model.get("arch") or "mlp"
    spec = BUILDERS[arch](SpecBuilder(arch, (height, width, channels), classes), model)
    infer_shapes(spec)
    return spec
