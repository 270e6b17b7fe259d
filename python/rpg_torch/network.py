"""Executes a ModelSpec with PyTorch, with the semantics of src/engines/tfjs/network.ts + ops.ts +
graph-ops.ts: every op of spec.ts (convolutions with groups and dilation, depthwise, dense over
the last axis, BatchNorm and LayerNorm, the activations, pools, reshape, dropout, concat,
embedding, multi-head self-attention and the token ops).

Parameters are stored in the TypeScript layouts (conv kernels [kh, kw, cin/groups, cout],
depthwise [kh, kw, c, multiplier], dense and attention [in, out], embedding [vocab, dim]) so that
generated weights, checkpoints and optimizer state are the same numbers in both engines; they
are viewed as PyTorch's OIHW at each forward pass.

Layouts: a value with three axes per example is an image and runs NCHW here (NHWC in tfjs);
every other value (vectors [n, d], token sequences [n, t, d], anything of higher rank) has the
TypeScript layout. Ops that are defined on the TypeScript layout (flatten, reshape, dense and
the norms over the last axis, concat's axis, embedding, dropout's mask order) view an image as
NHWC first. "same" padding is TensorFlow's (the extra row/column goes after), which for a
stride-2 7×7 stem is not PyTorch's symmetric pad.
"""
from __future__ import annotations

import math
from typing import Any, Dict, List, Optional, Tuple

import torch
import torch.nn.functional as F
from torch import nn

from .dropout import dropout_multiplier, dropout_seed
from .models import ModelSpec, ParamSpec, op_inputs
from .plan import MaterializedPlan, initial_free_value, initial_ring, layer_bases

BN_MOMENTUM = 0.1
BN_EPS = 1e-5
RING_TENSOR = "ring"


class RingGather(torch.autograd.Function):
    """vec(W) = signScale ⊙ ring[index]; the ring gradient gathers each entry's uses through a
    rows × M table and sums over rows: O(N), and deterministic on GPUs (no atomics)."""

    @staticmethod
    def forward(ctx, ring, index, sign_scale, grad_gather):  # type: ignore[override]
        ctx.save_for_backward(sign_scale, grad_gather)
        return sign_scale * ring[index]

    @staticmethod
    def backward(ctx, grad):  # type: ignore[override]
        sign_scale, grad_gather = ctx.saved_tensors
        g = grad * sign_scale
        padded = torch.cat([g, g.new_zeros(1)])
        return padded[grad_gather].sum(0), None, None, None


class TwoPassBatchNorm(torch.autograd.Function):
    """Training-mode BatchNorm over all axes but channels (dim 1), statistics in two passes
    (mean, then the mean of squared deviations) with PyTorch's cascade-summed means, and the
    closed-form backward of ops.ts batchNormTrain. PyTorch 1.13's CPU batch_norm accumulates its
    statistics sequentially in float32: on MNIST activations (many equal background values)
    that is off by 2e-5 relative after one layer, against 1e-7 here and in tfjs."""

    @staticmethod
    def forward(ctx, x, gamma, beta, eps):  # type: ignore[override]
        dims = [0] + list(range(2, x.dim()))
        shape = [1, -1] + [1] * (x.dim() - 2)
        mean = x.mean(dim=dims, keepdim=True)
        xc = x - mean
        var = (xc * xc).mean(dim=dims, keepdim=True)
        inv = torch.rsqrt(var + eps)
        y = xc * (gamma.view(shape) * inv) + beta.view(shape)
        ctx.save_for_backward(xc, inv, gamma)
        ctx.dims = dims
        ctx.shape = shape
        return y, mean.view(-1), var.view(-1)

    @staticmethod
    def backward(ctx, dy, _dmean, _dvar):  # type: ignore[override]
        xc, inv, gamma = ctx.saved_tensors
        dims, shape = ctx.dims, ctx.shape
        rows = xc.numel() // xc.shape[1]
        mean_dy = dy.mean(dim=dims, keepdim=True)
        mean_dy_xhat = (dy * xc).mean(dim=dims, keepdim=True) * inv
        a = gamma.view(shape) * inv
        dx = a * (dy - mean_dy) - (a * inv * mean_dy_xhat) * xc
        return dx, mean_dy_xhat.view(-1) * rows, mean_dy.view(-1) * rows, None


class MaxPool2x2(torch.autograd.Function):
    """2×2 stride-2 "valid" max pooling with ops.ts maxPool2x2's gradient: dy is shared equally
    among the positions of the window equal to its maximum. PyTorch's own picks one; the two
    differ where a window has tied positive maxima, which MNIST's uniform background makes
    common after the first convolution."""

    @staticmethod
    def forward(ctx, x):  # type: ignore[override]
        y = F.max_pool2d(x, 2, 2)
        ctx.save_for_backward(x, y)
        return y

    @staticmethod
    def backward(ctx, dy):  # type: ignore[override]
        x, y = ctx.saved_tensors
        h, w = y.shape[2] * 2, y.shape[3] * 2
        up = lambda t: t.repeat_interleave(2, dim=2).repeat_interleave(2, dim=3)  # noqa: E731
        covered = x[:, :, :h, :w]
        hits = (covered == up(y)).to(dy.dtype)
        # As ops.ts: dy / (number of tied maxima), the count as avgPool(hits) · 4 (exact).
        share = dy / (F.avg_pool2d(hits, 2, 2) * 4)
        dx = hits * up(share)
        if h != x.shape[2] or w != x.shape[3]:
            dx = F.pad(dx, (0, x.shape[3] - w, 0, x.shape[2] - h))
        return dx


class GlobalMax(torch.autograd.Function):
    """Maximum over one axis with tfjs's gradient for tf.max: dy reaches every position equal to
    the maximum (PyTorch's amax shares it among them)."""

    @staticmethod
    def forward(ctx, x, dim):  # type: ignore[override]
        y = x.amax(dim=dim)
        ctx.save_for_backward(x, y)
        ctx.dim = dim
        return y

    @staticmethod
    def backward(ctx, dy):  # type: ignore[override]
        x, y = ctx.saved_tensors
        hits = (x == y.unsqueeze(ctx.dim)).to(dy.dtype)
        return hits * dy.unsqueeze(ctx.dim), None


class EmbeddingLookup(torch.autograd.Function):
    """Rows of a [vocab, dim] table; the table's gradient sums each row's uses without atomics
    (index_add_ on the CPU, a one-hot product elsewhere, as graph-ops.ts embedding), so it is
    deterministic on every device."""

    @staticmethod
    def forward(ctx, table, ids):  # type: ignore[override]
        ctx.save_for_backward(ids)
        ctx.vocab = table.shape[0]
        return table[ids]

    @staticmethod
    def backward(ctx, dy):  # type: ignore[override]
        (ids,) = ctx.saved_tensors
        flat_ids = ids.reshape(-1)
        dy2 = dy.reshape(flat_ids.numel(), -1)
        if dy.device.type == "cpu":
            grad = dy2.new_zeros((ctx.vocab, dy2.shape[1])).index_add_(0, flat_ids, dy2)
        else:
            grad = F.one_hot(flat_ids, ctx.vocab).to(dy2.dtype).t() @ dy2
        return grad, None


def tf_layout(x: torch.Tensor) -> torch.Tensor:
    """The TypeScript layout of a value: an image (NCHW here) as NHWC; anything else as it is."""
    return x.permute(0, 2, 3, 1) if x.dim() == 4 else x


def our_layout(y: torch.Tensor) -> torch.Tensor:
    """Back from the TypeScript layout: a value with three axes per example is an image, NCHW here."""
    return y.permute(0, 3, 1, 2) if y.dim() == 4 else y


def same_padding(size: int, k: int, stride: int) -> Tuple[int, int]:
    """TensorFlow's "same" padding split (before, after) for one dimension (ops.ts samePadding)."""
    out = -(-size // stride)
    total = max((out - 1) * stride + k - size, 0)
    before = total // 2
    return before, total - before


class RpgNetwork(nn.Module):
    """The ring (or, for the plain model, every kernel) and the free parameters; generated
    kernels are produced from the ring at each forward pass."""

    def __init__(self, spec: ModelSpec, materialized: Optional[MaterializedPlan], seed: int) -> None:
        super().__init__()
        self.spec = spec
        self.materialized = materialized
        self.seed = seed
        # Dropout masks are drawn for (step, the whole global batch) as the tfjs engine draws them;
        # forward's `rows` says which rows of it this call (a torchrun rank, a DataParallel replica) has.
        self.step = 0
        self.global_batch: Optional[int] = None
        self._rows: Optional[torch.Tensor] = None
        self.variable_names: List[str] = []
        self.roles: Dict[str, str] = {}
        self.free = nn.ParameterList()
        self._free_index: Dict[str, int] = {}
        self.generated: List[ParamSpec] = []
        if materialized is not None:
            plan = materialized.plan
            self.ring = nn.Parameter(initial_ring(plan))
            self.variable_names.append(RING_TENSOR)
            self.roles[RING_TENSOR] = "ring"
            self.register_buffer("gen_index", materialized.index.clone(), persistent=False)
            self.register_buffer("gen_sign_scale", materialized.sign_scale.clone(), persistent=False)
            self.register_buffer("gen_grad_gather", materialized.uses.grad_gather, persistent=False)
            # θ₀ (BatchNorm γ's 1 under generate "all"): a float32 add after the gather, as ring-generator.ts.
            self.register_buffer("gen_base", layer_bases(plan), persistent=False)
            self.generated = [layer.param for layer in plan.layers]
            self._sizes = [layer.size for layer in plan.layers]
        else:
            self.ring = None
            self.register_buffer("gen_base", None, persistent=False)
        generated_names = {p.name for p in self.generated}
        for p in spec.params:
            if p.name in generated_names:
                continue
            self._free_index[p.name] = len(self.free)
            self.free.append(nn.Parameter(initial_free_value(p, seed)))
            self.variable_names.append(p.name)
            self.roles[p.name] = "free"
        self.bn_names: List[str] = []
        for op in spec.ops:
            if op["op"] != "batchnorm":
                continue
            c = spec.param(op["gamma"]).size
            i = len(self.bn_names)
            self.register_buffer(f"bn{i}_mean", torch.zeros(c))
            self.register_buffer(f"bn{i}_var", torch.ones(c))
            self.bn_names.append(op["name"])
        self._bn_index = {n: i for i, n in enumerate(self.bn_names)}
        self.data_only = data_only_values(spec)
        self._ops = {
            "conv": self._conv, "depthwise": self._depthwise, "dense": self._dense, "batchnorm": self._batchnorm,
            "layernorm": self._layernorm, "relu": self._relu, "activation": self._activation, "maxpool": self._maxpool,
            "avgpool": self._avgpool, "globalavgpool": self._global_avg_pool, "globalmaxpool": self._global_max_pool,
            "flatten": self._flatten, "reshape": self._reshape, "dropout": self._dropout, "add": self._add, "concat": self._concat,
            "embedding": self._embedding, "attention": self._attention, "class-token": self._class_token,
            "position-embedding": self._position_embedding, "select-token": self._select_token, "pad-shortcut": self._pad_shortcut,
        }

    # -- named state, as Network.state() / variables in network.ts --
    def variable(self, name: str) -> torch.Tensor:
        if name == RING_TENSOR:
            assert self.ring is not None
            return self.ring
        return self.free[self._free_index[name]]

    def variables(self) -> List[Tuple[str, nn.Parameter]]:
        return [(n, self.variable(n)) for n in self.variable_names]  # type: ignore[misc]

    def running(self, bn_name: str) -> Tuple[torch.Tensor, torch.Tensor]:
        i = self._bn_index[bn_name]
        return getattr(self, f"bn{i}_mean"), getattr(self, f"bn{i}_var")

    def state_tensors(self) -> List[Tuple[str, torch.Tensor]]:
        """Every persistent tensor by its checkpoint name, in network.ts state() order."""
        out: List[Tuple[str, torch.Tensor]] = [(n, v) for n, v in self.variables()]
        for name in self.bn_names:
            mean, var = self.running(name)
            out.append((f"{name}.running_mean", mean))
            out.append((f"{name}.running_var", var))
        return out

    # -- forward --
    def generated_weights(self) -> Dict[str, torch.Tensor]:
        if self.ring is None:
            return {}
        flat = RingGather.apply(self.ring, self.gen_index, self.gen_sign_scale, self.gen_grad_gather)
        if self.gen_base is not None:
            flat = flat + self.gen_base
        parts = torch.split(flat, self._sizes)
        return {p.name: part.view(p.shape) for p, part in zip(self.generated, parts)}

    def forward(self, x: torch.Tensor, rows: Optional[torch.Tensor] = None) -> torch.Tensor:
        """x: NCHW float32 → logits [n, classes]. In training mode, dropout draws the masks of
        ``self.step`` (set by the loop before each step, as trainStep's step) for a batch of
        ``self.global_batch`` rows, of which x holds ``rows`` (default: all, from 0). ``rows`` is
        an argument, not an attribute, so that DataParallel splits it with x."""
        self._rows = rows
        weights = self.generated_weights()

        def param(name: str) -> torch.Tensor:
            w = weights.get(name)
            return w if w is not None else self.free[self._free_index[name]]

        values: Dict[str, torch.Tensor] = {self.spec.input: x}
        for op in self.spec.ops:
            values[op["output"]] = self._run_op(op, values, param)
        return values[self.spec.output]

    def _run_op(self, op: Dict[str, Any], values: Dict[str, torch.Tensor], param) -> torch.Tensor:
        run = self._ops.get(op["op"])
        if run is None:
            raise ValueError(f"unknown op {op['op']}")
        return run(op, values, param)

    # -- the ops, one method each (values: NCHW images, everything else in the TypeScript layout) --
    def _conv(self, op, values, param) -> torch.Tensor:
        x = values[op["input"]]
        w = param(op["weight"]).permute(3, 2, 0, 1)  # HWIO → OIHW ([cout, cin/groups, k, k])
        b = param(op["bias"]) if op.get("bias") else None
        return _convolve(x, w, b, op["stride"], op["padding"], op.get("dilation", 1), op.get("groups", 1))

    def _depthwise(self, op, values, param) -> torch.Tensor:
        x = values[op["input"]]
        k, _, c, m = param(op["weight"]).shape
        # [k, k, c, m] → [c·m, 1, k, k]: output channel c·m + j, as tfjs's depthwiseConv2d and a grouped conv.
        w = param(op["weight"]).reshape(k, k, 1, c * m).permute(3, 2, 0, 1)
        b = param(op["bias"]) if op.get("bias") else None
        return _convolve(x, w, b, op["stride"], op["padding"], op.get("dilation", 1), c)

    def _dense(self, op, values, param) -> torch.Tensor:
        x = tf_layout(values[op["input"]])
        y = x @ param(op["weight"])
        if op.get("bias"):
            y = y + param(op["bias"])
        return our_layout(y)

    def _batchnorm(self, op, values, param) -> torch.Tensor:
        x = values[op["input"]]
        gamma, beta = param(op["gamma"]), param(op["beta"])
        eps = op.get("epsilon", BN_EPS)
        mean, var = self.running(op["name"])
        # Over every axis but the channels: an image's dim 1 here, the last axis of anything else.
        x2 = x if x.dim() == 4 else x.reshape(-1, x.shape[-1])
        if not self.training or x2.device.type != "cpu":
            # cuDNN and MPS reduce accurately (Welford); eval mode reads running statistics.
            y = F.batch_norm(x2, mean, var, gamma, beta, self.training, BN_MOMENTUM, eps)
        else:
            y, batch_mean, batch_var = TwoPassBatchNorm.apply(x2, gamma, beta, eps)
            with torch.no_grad():  # running averages with the unbiased variance, as network.ts
                n = x2.numel() // x2.shape[1]
                mean.mul_(1 - BN_MOMENTUM).add_(batch_mean * BN_MOMENTUM)
                var.mul_(1 - BN_MOMENTUM).add_(batch_var * (n / max(1, n - 1)) * BN_MOMENTUM)
        return y if x.dim() == 4 else y.reshape(x.shape)

    def _layernorm(self, op, values, param) -> torch.Tensor:
        x = tf_layout(values[op["input"]])
        return our_layout(F.layer_norm(x, (x.shape[-1],), param(op["gamma"]), param(op["beta"]), op["epsilon"]))

    def _relu(self, op, values, param) -> torch.Tensor:
        return F.relu(values[op["input"]])

    def _activation(self, op, values, param) -> torch.Tensor:
        x = values[op["input"]]
        fn = op["fn"]
        if fn == "relu6":
            return F.hardtanh(x, 0.0, 6.0)  # gradient on 0 < x < 6, as graph-ops.ts relu6
        if fn == "gelu":
            return F.gelu(x)  # the exact form, x·Φ(x) with erf
        if fn == "sigmoid":
            return torch.sigmoid(x)
        if fn == "tanh":
            return torch.tanh(x)
        if fn == "softmax":
            return F.softmax(x, dim=1 if x.dim() == 4 else -1)  # the last axis of the TypeScript layout
        raise ValueError(f"unknown activation {fn}")

    def _maxpool(self, op, values, param) -> torch.Tensor:
        x = values[op["input"]]
        if op["size"] == 2 and op["stride"] == 2 and op["padding"] == "valid":
            return MaxPool2x2.apply(x)
        if op["padding"] == "same":
            (pt, pb), (pl, pr) = same_padding(x.shape[2], op["size"], op["stride"]), same_padding(x.shape[3], op["size"], op["stride"])
            if pt or pb or pl or pr:
                x = F.pad(x, (pl, pr, pt, pb), value=-math.inf)
        return F.max_pool2d(x, op["size"], op["stride"])

    def _avgpool(self, op, values, param) -> torch.Tensor:
        x = values[op["input"]]
        size, stride = op["size"], op["stride"]
        if op["padding"] == "same":
            (pt, pb), (pl, pr) = same_padding(x.shape[2], size, stride), same_padding(x.shape[3], size, stride)
            if pt or pb or pl or pr:
                # TensorFlow averages over the window's positions inside the image only.
                sums = F.avg_pool2d(F.pad(x, (pl, pr, pt, pb)), size, stride, divisor_override=1)
                ones = F.pad(x.new_ones((1, 1, x.shape[2], x.shape[3])), (pl, pr, pt, pb))
                return sums / F.avg_pool2d(ones, size, stride, divisor_override=1)
        return F.avg_pool2d(x, size, stride)

    def _global_avg_pool(self, op, values, param) -> torch.Tensor:
        x = values[op["input"]]
        if x.dim() == 4:
            return x.mean(dim=(2, 3))
        return x.reshape(x.shape[0], -1, x.shape[-1]).mean(1)

    def _global_max_pool(self, op, values, param) -> torch.Tensor:
        x = values[op["input"]]
        if x.dim() == 4:
            return GlobalMax.apply(x.reshape(x.shape[0], x.shape[1], -1), 2)
        return GlobalMax.apply(x.reshape(x.shape[0], -1, x.shape[-1]), 1)

    def _flatten(self, op, values, param) -> torch.Tensor:
        x = tf_layout(values[op["input"]])  # NHWC order, as the TypeScript flatten
        return x.reshape(x.shape[0], -1)

    def _reshape(self, op, values, param) -> torch.Tensor:
        x = tf_layout(values[op["input"]])
        return our_layout(x.reshape(x.shape[0], *op["shape"]))

    def _dropout(self, op, values, param) -> torch.Tensor:
        x = values[op["input"]]
        if not self.training or op["rate"] <= 0:
            return x
        n = x.shape[0]
        per_example = list(tf_layout(x).shape[1:])
        global_batch = self.global_batch if self.global_batch is not None else n
        mult = dropout_multiplier([global_batch] + per_example, op["rate"], dropout_seed(op["name"], self.seed, self.step))
        mult = mult[:n] if self._rows is None else mult[self._rows.cpu()]
        return x * our_layout(mult).to(x.device)

    def _add(self, op, values, param) -> torch.Tensor:
        return values[op["inputs"][0]] + values[op["inputs"][1]]

    def _concat(self, op, values, param) -> torch.Tensor:
        xs = [values[i] for i in op["inputs"]]
        axis = op["axis"]
        return torch.cat(xs, dim=(2, 3, 1)[axis] if xs[0].dim() == 4 else axis + 1)

    def _embedding(self, op, values, param) -> torch.Tensor:
        table = param(op["weight"])
        x = tf_layout(values[op["input"]])
        ids = torch.clamp(torch.floor(x), 0, table.shape[0] - 1).to(torch.int64)
        return our_layout(EmbeddingLookup.apply(table, ids))

    def _attention(self, op, values, param) -> torch.Tensor:
        x = values[op["input"]]
        n, t, d = x.shape
        heads = op["heads"]
        wq = param(op["query"])
        inner = wq.shape[1]
        key_dim = inner // heads
        flat = x.reshape(n * t, d)

        def project(weight: torch.Tensor, bias_name: Optional[str]) -> torch.Tensor:
            y = flat @ weight
            if bias_name:
                y = y + param(bias_name)
            return y.reshape(n, t, heads, key_dim).permute(0, 2, 1, 3).reshape(n * heads, t, key_dim)

        q = project(wq, op.get("queryBias"))
        k = project(param(op["key"]), op.get("keyBias"))
        v = project(param(op["value"]), op.get("valueBias"))
        scores = torch.bmm(q, k.transpose(1, 2)) * (1 / math.sqrt(key_dim))
        attended = torch.bmm(F.softmax(scores, dim=-1), v)
        joined = attended.reshape(n, heads, t, key_dim).permute(0, 2, 1, 3).reshape(n * t, inner)
        y = joined @ param(op["out"])
        if op.get("outBias"):
            y = y + param(op["outBias"])
        return y.reshape(n, t, -1)

    def _class_token(self, op, values, param) -> torch.Tensor:
        x = values[op["input"]]
        token = param(op["token"])
        return torch.cat([token.view(1, 1, -1).expand(x.shape[0], 1, token.shape[0]).to(x.dtype), x], dim=1)

    def _position_embedding(self, op, values, param) -> torch.Tensor:
        return values[op["input"]] + param(op["table"])

    def _select_token(self, op, values, param) -> torch.Tensor:
        return values[op["input"]][:, op["index"], :]

    def _pad_shortcut(self, op, values, param) -> torch.Tensor:
        x = values[op["input"]]
        s, out_c = op["stride"], op["outChannels"]
        c = x.shape[1]
        if s == 1 and out_c == c:
            return x
        if out_c < c:
            raise ValueError(f"pad-shortcut: {c} channels do not fit in {out_c}")
        if s > 1:
            x = x[:, :, ::s, ::s]
        before = (out_c - c) // 2
        return F.pad(x, (0, 0, 0, 0, before, out_c - c - before))


def _convolve(x: torch.Tensor, w: torch.Tensor, b: Optional[torch.Tensor], stride: int, padding: str, dilation: int,
              groups: int) -> torch.Tensor:
    """A convolution with TensorFlow's padding of the dilated window d·(k−1)+1."""
    k = w.shape[2]
    pad = (0, 0)
    if padding == "same":
        eff = dilation * (k - 1) + 1
        (pt, pb), (pl, pr) = same_padding(x.shape[2], eff, stride), same_padding(x.shape[3], eff, stride)
        if pt == pb and pl == pr:
            pad = (pt, pl)
        else:
            x = F.pad(x, (pl, pr, pt, pb))
    return F.conv2d(x, w, b, stride, pad, dilation, groups)


# network.ts dataOnlyValues: values computed from the input alone through parameter-free ops.
_PARAMETER_FREE = ("relu", "activation", "maxpool", "avgpool", "globalavgpool", "globalmaxpool", "flatten", "reshape", "dropout", "add",
                   "concat", "select-token", "pad-shortcut")


def data_only_values(spec: ModelSpec) -> set:
    out = {spec.input}
    for op in spec.ops:
        if op["op"] in _PARAMETER_FREE and all(i in out for i in op_inputs(op)):
            out.add(op["output"])
    return out


def to_nchw(x_nhwc: torch.Tensor) -> torch.Tensor:
    return x_nhwc.permute(0, 3, 1, 2).contiguous()
