"""Executes a ModelSpec with PyTorch, with the semantics of src/train/network.ts + ops.ts.

Parameters are stored in the TypeScript layouts (conv kernels [kh, kw, cin, cout], dense
[in, out]) so that generated weights, checkpoints and optimizer state are the same numbers in
both engines; they are viewed as PyTorch's OIHW at each forward pass. Activations run NCHW;
``flatten`` reads them in TypeScript's NHWC order, and "same" padding is TensorFlow's (the
extra row/column goes after), which for a stride-2 7×7 stem is not PyTorch's symmetric pad.
"""
from __future__ import annotations

import math
from typing import Any, Dict, List, Optional, Tuple

import torch
import torch.nn.functional as F
from torch import nn

from .models import ModelSpec, ParamSpec
from .plan import MaterializedPlan, initial_free_value, initial_ring

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
            self.generated = [layer.param for layer in plan.layers]
            self._sizes = [layer.size for layer in plan.layers]
        else:
            self.ring = None
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
        parts = torch.split(flat, self._sizes)
        return {p.name: part.view(p.shape) for p, part in zip(self.generated, parts)}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: NCHW float32 → logits [n, classes]."""
        weights = self.generated_weights()

        def param(name: str) -> torch.Tensor:
            w = weights.get(name)
            return w if w is not None else self.free[self._free_index[name]]

        values: Dict[str, torch.Tensor] = {self.spec.input: x}
        for op in self.spec.ops:
            values[op["output"]] = self._run_op(op, values, param)
        return values[self.spec.output]

    def _run_op(self, op: Dict[str, Any], values: Dict[str, torch.Tensor], param) -> torch.Tensor:
        kind = op["op"]
        if kind == "conv":
            x = values[op["input"]]
            w = param(op["weight"]).permute(3, 2, 0, 1)  # HWIO → OIHW
            k = w.shape[2]
            stride = op["stride"]
            pad = (0, 0)
            if op["padding"] == "same":
                (pt, pb), (pl, pr) = same_padding(x.shape[2], k, stride), same_padding(x.shape[3], k, stride)
                if pt == pb and pl == pr:
                    pad = (pt, pl)
                else:
                    x = F.pad(x, (pl, pr, pt, pb))
            b = param(op["bias"]) if op.get("bias") else None
            return F.conv2d(x, w, b, stride, pad)
        if kind == "dense":
            y = values[op["input"]] @ param(op["weight"])
            return y + param(op["bias"]) if op.get("bias") else y
        if kind == "batchnorm":
            x = values[op["input"]]
            mean, var = self.running(op["name"])
            if not self.training or x.device.type != "cpu":
                # cuDNN and MPS reduce accurately (Welford); eval mode reads running statistics.
                return F.batch_norm(x, mean, var, param(op["gamma"]), param(op["beta"]), self.training, BN_MOMENTUM, BN_EPS)
            y, batch_mean, batch_var = TwoPassBatchNorm.apply(x, param(op["gamma"]), param(op["beta"]), BN_EPS)
            with torch.no_grad():  # running averages with the unbiased variance, as network.ts
                n = x.numel() // x.shape[1]
                mean.mul_(1 - BN_MOMENTUM).add_(batch_mean * BN_MOMENTUM)
                var.mul_(1 - BN_MOMENTUM).add_(batch_var * (n / max(1, n - 1)) * BN_MOMENTUM)
            return y
        if kind == "relu":
            return F.relu(values[op["input"]])
        if kind == "maxpool":
            x = values[op["input"]]
            if op["size"] == 2 and op["stride"] == 2 and op["padding"] == "valid":
                return MaxPool2x2.apply(x)
            if op["padding"] == "same":
                (pt, pb), (pl, pr) = same_padding(x.shape[2], op["size"], op["stride"]), same_padding(x.shape[3], op["size"], op["stride"])
                if pt or pb or pl or pr:
                    x = F.pad(x, (pl, pr, pt, pb), value=-math.inf)
            return F.max_pool2d(x, op["size"], op["stride"])
        if kind == "globalavgpool":
            return values[op["input"]].mean(dim=(2, 3))
        if kind == "flatten":
            x = values[op["input"]]
            if x.dim() == 4:
                x = x.permute(0, 2, 3, 1)  # NHWC order, as the TypeScript flatten
            return x.reshape(x.shape[0], -1)
        if kind == "add":
            return values[op["inputs"][0]] + values[op["inputs"][1]]
        if kind == "pad-shortcut":
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
        raise ValueError(f"unknown op {kind}")


def data_only_values(spec: ModelSpec) -> set:
    out = {spec.input}
    for op in spec.ops:
        free = op["op"] in ("relu", "maxpool", "globalavgpool", "flatten", "pad-shortcut")
        inputs = op["inputs"] if op["op"] == "add" else [op["input"]]
        if (free or op["op"] == "add") and all(i in out for i in inputs):
            out.add(op["output"])
    return out


def to_nchw(x_nhwc: torch.Tensor) -> torch.Tensor:
    return x_nhwc.permute(0, 3, 1, 2).contiguous()
