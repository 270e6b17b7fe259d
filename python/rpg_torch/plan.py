"""The RPG plan and its materialization, as src/rpg/{plan,materialize,dof}.ts.

A plan is counted (which kernels are generated, their offsets and scales, M, the hash); the
per-weight ring indices, signs and fixed multipliers are drawn by ``materialize_plan`` from the
same named streams as the TypeScript, in bulk (streams.py), so both engines agree bit for bit.
``materialized_hash`` is the contract: sha256 over the int32 indices, the int8 signs and the
float32 per-layer scales.
"""
from __future__ import annotations

import ctypes
import hashlib
import math
import struct
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Tuple

import torch

from . import streams
from .models import KERNEL_KINDS, ModelSpec, ParamSpec, is_kernel_kind
from .prng import Rng, hash_string, _utf16_units

PLAN_ALGORITHM_VERSION = 1


class PlanError(ValueError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class GeneratedLayer:
    param: ParamSpec
    offset: int
    size: int
    scale: float
    initStd: float
    # θ₀ added to every generated value of the layer: 1 for BatchNorm γ under generate "all".
    base: float = 0.0


@dataclass
class RpgPlan:
    mode: str
    seed: int
    ringSize: int
    generatedCount: int
    ringInitStd: float
    layers: List[GeneratedLayer]
    free: List[ParamSpec]
    hash: str
    # Why each free parameter is free, by name (plan.ts freeReasons).
    freeReasons: Dict[str, str] = field(default_factory=dict)


FREE_ALIASES = ("stem", "head")
FREE_KINDS = KERNEL_KINDS + FREE_ALIASES


def free_reason(p: ParamSpec, settings: Dict[str, Any]) -> Optional[str]:
    """plan.ts freeReason: why a parameter is free, or None when the ring generates it."""
    free = settings.get("free") or []
    if not is_kernel_kind(p.kind) and settings.get("generate") != "all":
        return "bias" if p.kind == "bias" else "norm" if p.kind.startswith("bn-") or p.kind.startswith("ln-") else p.kind
    if (settings.get("freeFirst") or "stem" in free) and p.position == "first":
        return "stem"
    if (settings.get("freeLast") or "head" in free) and p.position == "last":
        return "head"
    for entry in free:
        if entry == p.kind:
            return f'rpg.free "{entry}"'
        if entry == p.name or entry == p.layer or p.layer.startswith(f"{entry}."):
            return f'rpg.free "{entry}"'
    return None


def is_generated(p: ParamSpec, settings: Dict[str, Any]) -> bool:
    return free_reason(p, settings) is None


def unknown_free_entries(spec: ModelSpec, free: Optional[List[str]]) -> List[Tuple[int, str]]:
    out = []
    for i, entry in enumerate(free or []):
        if entry in FREE_KINDS:
            continue
        if any(entry == p.name or entry == p.layer or p.layer.startswith(f"{entry}.") for p in spec.params):
            continue
        out.append((i, entry))
    return out


def he_std(p: ParamSpec) -> float:
    """plan.ts heStd: convolutions (depthwise too) He fan-out, attention projections 1/√fan-in,
    embedding rows 1/√dim, dense (and anything else) He fan-in."""
    if p.kind in ("conv", "depthwise"):
        return math.sqrt(2 / p.fanOut)
    if p.kind == "attention":
        return math.sqrt(1 / p.fanIn)
    if p.kind == "embedding":
        return math.sqrt(1 / p.fanOut)
    return math.sqrt(2 / p.fanIn)


def layer_scale(p: ParamSpec, ring_init_std: float) -> float:
    return he_std(p) / ring_init_std


def plan_scales(spec: ModelSpec, ring_init_std: float) -> Dict[str, float]:
    """plan.ts planScales: a kernel its He scale; a vector (bias, norm, token under generate "all")
    the scale of the kernel before it in parameter order (1 before any kernel)."""
    scales: Dict[str, float] = {}
    kernel_scale = 1.0
    for p in spec.params:
        if is_kernel_kind(p.kind):
            kernel_scale = layer_scale(p, ring_init_std)
        scales[p.name] = kernel_scale
    return scales


def _js_round(x: float) -> int:
    r = math.floor(x)
    return int(r + 1 if x - r >= 0.5 else r)


def resolve_ring_size(dof: Any, generated_count: int) -> int:
    if not isinstance(dof, str):
        return dof
    pct = _parse_float(dof)
    if pct is None or not math.isfinite(pct) or pct <= 0:
        raise PlanError("rpg.dof", f'rpg.dof: "{dof}" is not a positive percentage')
    return max(1, _js_round((generated_count * pct) / 100))


def _parse_float(text: str) -> Optional[float]:
    """JavaScript's parseFloat: the longest numeric prefix after leading whitespace."""
    import re

    m = re.match(r"\s*([+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?)", text)
    return float(m.group(1)) if m else None


def _grouped(n: int) -> str:
    return f"{n:,}"


def build_plan(spec: ModelSpec, settings: Dict[str, Any], seed: int) -> RpgPlan:
    generated = [p for p in spec.params if is_generated(p, settings)]
    free = [p for p in spec.params if not is_generated(p, settings)]
    n = sum(p.size for p in generated)
    unknown = unknown_free_entries(spec, settings.get("free"))
    if unknown:
        i, entry = unknown[0]
        raise PlanError(f"rpg.free.{i}", f'rpg.free: "{entry}" is neither a kind ({", ".join(FREE_KINDS)}) nor a layer of {spec.arch}')
    if n == 0:
        raise PlanError("rpg", "no parameter is generated: the model has no kernel left after freeFirst/freeLast/free")
    m = resolve_ring_size(settings["dof"], n)
    if not isinstance(m, int) or isinstance(m, bool) or m < 1:
        raise PlanError("rpg.dof", f"rpg.dof: the ring size must be a positive integer, got {m}")
    if m > n:
        raise PlanError(
            "rpg.dof",
            f"rpg.dof: a ring of {_grouped(m)} entries is larger than the {_grouped(n)} generated parameters of {spec.arch}; "
            f"{_grouped(m - n)} ring entries would never be used (use at most {_grouped(n)}, which is the plain model up to "
            "permutation and signs)",
        )
    scales = plan_scales(spec, settings["ringInitStd"])
    layers = []
    offset = 0
    for p in generated:
        scale = scales[p.name]
        layers.append(GeneratedLayer(p, offset, p.size, scale, scale * settings["ringInitStd"], 1.0 if p.kind == "bn-gamma" else 0.0))
        offset += p.size
    method = settings.get("method") or "ring"
    descriptor = "|".join([f"v{PLAN_ALGORITHM_VERSION}", settings["sampling"], str(seed), str(m)]
                          + [f"{p.name}:{'x'.join(str(s) for s in p.shape)}" for p in generated]
                          + ([f"method:{method}"] if method != "ring" else []))
    units = _utf16_units(descriptor)
    reversed_text = b"".join(struct.pack("<H", u) for u in reversed(units)).decode("utf-16-le", "surrogatepass")
    h = f"{hash_string(descriptor):08x}{hash_string(reversed_text):08x}"
    reasons = {p.name: free_reason(p, settings) or "" for p in free}
    return RpgPlan(settings["sampling"], seed, m, n, settings["ringInitStd"], layers, free, h, reasons)


# ---- materialization -------------------------------------------------------------------------

@dataclass
class MaterializedPlan:
    plan: RpgPlan
    index: torch.Tensor  # int64 [N]: the ring entry of every generated weight
    sign: torch.Tensor  # int8 [N]
    sign_scale: torch.Tensor  # float32 [N] = float32(sign · c_l)
    scale_square_sum: torch.Tensor  # float32 [M]: Σ c_l² over the entry's uses, in plan order
    use_count: torch.Tensor  # int64 [M]
    uses: Optional["UseTable"] = None

    def materialized_hash(self) -> str:
        return materialized_hash(self)


@dataclass
class UseTable:
    """rows × M positions: grad_gather[r, j] = the flat weight that is entry j's r-th use (in
    plan order), or N when entry j has fewer uses. The ring gradient is then a gather and a sum
    over rows: deterministic on every device, unlike a scatter-add."""

    rows: int
    grad_gather: torch.Tensor  # int64 [rows, M]


def materialize_plan(plan: RpgPlan) -> MaterializedPlan:
    n, m = plan.generatedCount, plan.ringSize
    # weight_of_slot[p]: the weight reading slot p of the fetch order (ring: position p of the
    # recurrent fetch, entry p mod M; shuffled: position p of the even copies, see _slot_table).
    weight_of_slot = torch.empty(n, dtype=torch.int64)
    subset_tail = None
    if plan.mode == "ring":
        index = torch.empty(n, dtype=torch.int64)
        state = Rng(plan.seed, "ring-layer-permutation").state()
        for layer in plan.layers:
            perm, state = streams.permutation(state, layer.size)
            pre = perm + layer.offset
            index[layer.offset:layer.offset + layer.size] = torch.remainder(pre, m)
            weight_of_slot[pre] = torch.arange(layer.offset, layer.offset + layer.size, dtype=torch.int64)
            del perm, pre
    else:
        full = (n // m) * m
        subset, _ = streams.permutation(Rng(plan.seed, "shuffled-subset").state(), m)
        subset_tail = subset[:n - full]
        order, _ = streams.permutation(Rng(plan.seed, "shuffled-order").state(), n)
        if n > full:
            tail = subset_tail[(order - full).clamp(min=0, max=max(0, n - full - 1))]
            index = torch.where(order < full, torch.remainder(order, m), tail)
        else:
            index = torch.remainder(order, m)
        weight_of_slot[order] = torch.arange(n, dtype=torch.int64)
        del order
    sign, _ = streams.signs(Rng(plan.seed, "signs").state(), n)
    scales = torch.tensor([layer.scale for layer in plan.layers], dtype=torch.float64)
    sizes = torch.tensor([layer.size for layer in plan.layers], dtype=torch.int64)
    per_weight_scale = torch.repeat_interleave(scales, sizes)
    sign_scale = (sign.to(torch.float64) * per_weight_scale).to(torch.float32)
    uses = _use_table(weight_of_slot, subset_tail, n, m)
    use_count = (uses.grad_gather < n).sum(0)
    scale_square_sum = _scale_square_sums(per_weight_scale * per_weight_scale, uses, m)
    return MaterializedPlan(plan, index, sign, sign_scale, scale_square_sum, use_count, uses)


def _use_table(weight_of_slot: torch.Tensor, subset_tail: Optional[torch.Tensor], n: int, m: int) -> UseTable:
    """Slot p < ⌊N/M⌋·M reads entry p mod M as its (p div M)-th slot; the N mod M slots after
    them read entry p mod M (ring) or subset[p − ⌊N/M⌋·M] (shuffled), as a last row. So the rows
    × M table of weights by slot needs only each entry's few uses sorted into plan order, not a
    sort of all N weights."""
    q, rem = divmod(n, m)
    rows = q + (1 if rem else 0)
    table = torch.full((rows, m), n, dtype=torch.int64)
    table[:q] = weight_of_slot[:q * m].view(q, m)
    if rem:
        cols = torch.arange(rem, dtype=torch.int64) if subset_tail is None else subset_tail
        table[q, cols] = weight_of_slot[q * m:]
    ordered = torch.sort(table.t().contiguous(), dim=1).values.t().contiguous()
    return UseTable(rows, ordered)


def _scale_square_sums(c2: torch.Tensor, uses: UseTable, m: int) -> torch.Tensor:
    """Σ c_l² per entry accumulated as materialize.ts does: a float32 running sum, each use's
    double c² added in double and the sum rounded back to float32, uses in plan order."""
    padded = torch.cat([c2, torch.zeros(1, dtype=torch.float64)])
    total = torch.zeros(m, dtype=torch.float32)
    n = c2.numel()
    for r in range(uses.rows):
        row = uses.grad_gather[r]
        present = row < n
        summed = (total.to(torch.float64) + padded[row]).to(torch.float32)
        total = torch.where(present, summed, total)
    return total


def tensor_bytes(t: torch.Tensor) -> bytes:
    """The raw little-endian bytes of a CPU tensor (no numpy needed)."""
    t = t.detach().contiguous().cpu()
    if not _LITTLE_ENDIAN:
        raise RuntimeError("big-endian hosts are not supported")
    return ctypes.string_at(t.data_ptr(), t.numel() * t.element_size())


_LITTLE_ENDIAN = struct.pack("=I", 1) == struct.pack("<I", 1)


def materialized_hash(mp: MaterializedPlan) -> str:
    h = hashlib.sha256()
    h.update(tensor_bytes(mp.index.to(torch.int32)))
    h.update(tensor_bytes(mp.sign.to(torch.int8)))
    h.update(tensor_bytes(torch.tensor([layer.scale for layer in mp.plan.layers], dtype=torch.float64).to(torch.float32)))
    return h.hexdigest()


def content_hash(mp: MaterializedPlan) -> str:
    """materialize.ts hashArrays (the planContentHash of version-1 checkpoints): an FNV-style
    chain over every weight, sequential by nature, so only computed to resume a v1 file."""
    h1 = 0x811C9DC5
    h2 = 0x01000193
    index = mp.index.tolist()
    sign = mp.sign.tolist()
    for i in range(len(index)):
        h1 = ((h1 ^ index[i]) * 0x01000193) & 0xFFFFFFFF
        h2 = ((h2 ^ ((sign[i] + 2 + (i & 0xFF)) & 0xFFFFFFFF)) * 0x5BD1E995) & 0xFFFFFFFF
    return f"{h1:08x}{h2:08x}"


def initial_ring(plan: RpgPlan) -> torch.Tensor:
    z, _ = streams.normals(Rng(plan.seed, "ring-init").state(), plan.ringSize)
    return (z * plan.ringInitStd).to(torch.float32)


def generate_weights(mp: MaterializedPlan, ring: torch.Tensor) -> torch.Tensor:
    """The flat generated weights c_l · s ⊙ ring[idx] (float32), all layers in plan order, without
    the layers' bases (materialize.ts generateWeights; add_layer_bases adds them)."""
    return mp.sign_scale * ring[mp.index]


def layer_bases(plan: RpgPlan) -> Optional[torch.Tensor]:
    """Every generated value's θ₀ in plan order (float32), or None when every base is 0."""
    if not any(layer.base for layer in plan.layers):
        return None
    return torch.repeat_interleave(torch.tensor([layer.base for layer in plan.layers], dtype=torch.float32),
                                   torch.tensor([layer.size for layer in plan.layers], dtype=torch.int64))


def add_layer_bases(plan: RpgPlan, flat: torch.Tensor) -> torch.Tensor:
    """materialize.ts addLayerBases: flat + θ₀ of its layer, a float32 add as in every engine."""
    bases = layer_bases(plan)
    return flat if bases is None else flat + bases.to(flat.device)


# network.ts TOKEN_INIT_STD: free class tokens and position embeddings start at std 0.02.
TOKEN_INIT_STD = 0.02


def initial_free_value(p: ParamSpec, seed: int) -> torch.Tensor:
    """network.ts initialFreeValue: kernels normal with their layer's He std (heStd, by kind),
    tokens and position embeddings normal with std 0.02 (both from the stream
    "free-init:<name>"), zero biases and β, norm γ = 1 (TS layout)."""
    std = he_std(p) if is_kernel_kind(p.kind) else TOKEN_INIT_STD if p.kind in ("token", "position") else 0.0
    if std > 0:
        z, _ = streams.normals(Rng(seed, f"free-init:{p.name}").state(), p.size)
        v = (z * std).to(torch.float32)
    elif p.kind in ("bn-gamma", "ln-gamma"):
        v = torch.ones(p.size, dtype=torch.float32)
    else:
        v = torch.zeros(p.size, dtype=torch.float32)
    return v.reshape(p.shape)


# ---- DoF accounting (dof.ts) ------------------------------------------------------------------

def summarize_dof(spec: ModelSpec, plan: Optional[RpgPlan]) -> Dict[str, Any]:
    total = sum(p.size for p in spec.params)

    def row(p: ParamSpec) -> Dict[str, Any]:
        return {"name": p.name, "layer": p.layer, "kind": p.kind, "shape": list(p.shape), "params": p.size, "generated": False}

    if plan is None:
        return {"arch": spec.arch, "totalParams": total, "generatedParams": 0, "freeParams": total, "ringSize": 0, "dof": total,
                "compression": 1, "reuse": 0, "ringFraction": 0, "dofFraction": 1, "rows": [row(p) for p in spec.params]}
    m, n = plan.ringSize, plan.generatedCount
    free = sum(p.size for p in plan.free)
    by_name = {layer.param.name: layer for layer in plan.layers}
    rows = []
    for p in spec.params:
        g = by_name.get(p.name)
        if g is None:
            rows.append(row(p))
            continue
        distinct = min(g.size, m) if plan.mode == "ring" else m * (1 - math.pow(1 - 1 / m, g.size))
        rows.append({**row(p), "generated": True, "scale": g.scale, "initStd": g.initStd, "reuse": g.size / m,
                     "distinctEntries": distinct, "share": g.size / n, "offset": g.offset})
    dof = m + free
    return {"arch": spec.arch, "totalParams": total, "generatedParams": n, "freeParams": free, "ringSize": m, "dof": dof,
            "compression": total / dof, "reuse": n / m, "ringFraction": m / n, "dofFraction": dof / total, "rows": rows}
