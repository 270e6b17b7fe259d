"""SGD with momentum and Adam written out as src/train/optimizer.ts writes them, with the same
named state ("<variable>/m", "<variable>/v") and the same ring learning-rate normalization:

"projected" (default): with W = P·z (one c_l·(±1) per row of P), an SGD step on the ring is
the plain model's step projected onto the RPG subspace, Δz_j = −lr·(Σ c s g)/(Σ c²): the ring
gradient is divided by Σc² per entry. Adam steps v_j = c̄_j·z_j (c̄_j the RMS of the c_l entry j
feeds): Adam on g/c̄, the step divided by c̄. "official": raw gradients, as the published code.

Scalars enter float32 arithmetic as float32 (PyTorch casts a Python scalar to the tensor's
dtype, as tfjs makes a float32 scalar tensor of a number).
"""
from __future__ import annotations

import math
from typing import Dict, List, Optional, Tuple

import torch

from .plan import MaterializedPlan

ADAM_BETA1 = 0.9
ADAM_BETA2 = 0.999
ADAM_EPS = 1e-8


class Slot:
    __slots__ = ("name", "param", "grad_mul", "decay_mul", "step_mul", "m", "v")

    def __init__(self, name: str, param: torch.Tensor, adam: bool) -> None:
        self.name = name
        self.param = param
        self.grad_mul: Optional[torch.Tensor] = None
        self.decay_mul: Optional[torch.Tensor] = None
        self.step_mul: Optional[torch.Tensor] = None
        self.m = torch.zeros_like(param, memory_format=torch.contiguous_format).detach()
        self.v = torch.zeros_like(param, memory_format=torch.contiguous_format).detach() if adam else None


class Optimizer:
    def __init__(self, name: str, momentum: float, weight_decay: float, normalization: str,
                 variables: List[Tuple[str, torch.Tensor]], roles: Dict[str, str], materialized: Optional[MaterializedPlan]) -> None:
        self.name = name
        self.momentum = momentum
        self.weight_decay = weight_decay
        self.normalization = normalization
        self.step = 0
        self.slots: List[Slot] = []
        for vname, param in variables:
            slot = Slot(vname, param, name == "adam")
            if roles.get(vname) == "ring" and materialized is not None and normalization != "official":
                g, d, s = ring_multipliers(name, materialized)
                slot.grad_mul, slot.decay_mul, slot.step_mul = (t.to(param.device) for t in (g, d, s))
            self.slots.append(slot)

    @torch.no_grad()
    def apply(self, lr: float) -> None:
        """One update from the gradients in each parameter's .grad (absent: skipped)."""
        self.step += 1
        t = self.step
        wd = self.weight_decay
        for s in self.slots:
            raw = s.param.grad
            if raw is None:
                continue
            x = s.param
            g = raw * s.grad_mul if s.grad_mul is not None else raw
            if wd > 0:
                g = g + (x * s.decay_mul if s.decay_mul is not None else x) * wd
            if self.name == "sgd":
                buf = s.m * self.momentum + g
                s.m.copy_(buf)
                update = buf
            else:
                m = s.m * ADAM_BETA1 + g * (1 - ADAM_BETA1)
                v = s.v * ADAM_BETA2 + torch.square(g) * (1 - ADAM_BETA2)
                s.m.copy_(m)
                s.v.copy_(v)
                m_hat = m / (1 - math.pow(ADAM_BETA1, t))
                v_hat = v / (1 - math.pow(ADAM_BETA2, t))
                update = m_hat / (torch.sqrt(v_hat) + ADAM_EPS)
            if s.step_mul is not None:
                update = update * s.step_mul
            x.sub_(update * lr)

    def zero_grad(self) -> None:
        for s in self.slots:
            s.param.grad = None

    def state_tensors(self) -> List[Tuple[str, torch.Tensor]]:
        out: List[Tuple[str, torch.Tensor]] = []
        for s in self.slots:
            out.append((f"{s.name}/m", s.m))
            if s.v is not None:
                out.append((f"{s.name}/v", s.v))
        return out


def ring_multipliers(name: str, m: MaterializedPlan) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Per-entry (gradMul, decayMul, stepMul) of the "projected" normalization, computed in
    double from the float32 Σc² and stored as float32, as optimizer.ts ringMultipliers."""
    sum_sq = m.scale_square_sum.to(torch.float64)
    rms = torch.sqrt(sum_sq / m.use_count.clamp(min=1).to(torch.float64))
    if name == "sgd":
        grad_mul = 1 / sum_sq
        decay_mul = torch.ones_like(sum_sq)
        step_mul = torch.ones_like(sum_sq)
    else:
        grad_mul = 1 / rms
        decay_mul = rms
        step_mul = 1 / rms
    return grad_mul.to(torch.float32), decay_mul.to(torch.float32), step_mul.to(torch.float32)


def learning_rate(train: Dict, step: int, total_steps: int) -> float:
    """src/train/schedule.ts: the lr at progress t = step / totalSteps."""
    t = min(1.0, step / total_steps) if total_steps > 0 else 0.0
    lr = train["lr"]
    sched = train["schedule"]
    if sched == "constant":
        return lr
    if sched == "step":
        return lr * (0.01 if t >= 0.75 else 0.1 if t >= 0.5 else 1)
    if sched == "cosine":
        return lr * 0.5 * (1 + math.cos(math.pi * t))
    if sched == "exp":
        return lr * math.pow(0.1, 2 * t)
    raise ValueError(f"unknown schedule {sched}")
