"""Dropout masks equal to the tfjs engine's, value for value.

graph-ops.ts ``dropout`` keeps a value where ``step(randomUniform(shape, 0, 1, 'float32', seed) −
rate)`` is 1, with ``seed`` = (hashString("dropout:<op name>") ^ imul(runSeed + 1, 0x9e3779b1) ^
imul(step + 1, 0x85ebca6b)) >>> 0 (network.ts), and scales the kept values by float32(1/(1 − rate)).
tfjs's randomUniform fills the tensor, in row-major order of its NHWC / [n, tokens, dim] shape,
from seedrandom's Alea generator seeded with the seed's decimal string, each double rounded to
float32. This module reproduces that generator:

- ``_mash`` is Alea's string hash, in doubles, as JavaScript evaluates it (Python floats are the
  same IEEE doubles, and every operation in it is + − × or a truncation).
- Alea itself is a lag-3 multiply-with-carry generator: with its state s0, s1, s2 (multiples of
  2⁻³², from the hash) as integers x = s·2³² and its carry c, one draw is
  t = 2091639·x₀ + c, x_new = t mod 2³², c = ⌊t / 2³²⌋ (exact in doubles: t < 2⁵³), output x_new·2⁻³².
- A multiply-with-carry generator is a multiplicative congruential one in disguise: the number
  S = c·b³ + x₂·b² + x₁·b + x₀ (b = 2³²) advances as S ← S·b⁻¹ mod (2091639·b³ − 1). That gives
  jumps of any length in a few big-integer products, so a mask of a million values is drawn as
  a few thousand independent lanes stepped together with int64 tensor ops instead of a million
  Python iterations.
"""
from __future__ import annotations

import math
from typing import List, Sequence, Tuple

import torch

from .prng import hash_string, imul

_A = 2091639
_B = 1 << 32
_P = _A * _B ** 3 - 1
_B_INV = pow(_B, -1, _P)
# Values each lane draws in turn: lanes = ⌈count / _LANE_STEPS⌉ jumps in Python, _LANE_STEPS
# tensor steps.
_LANE_STEPS = 64


def dropout_seed(op_name: str, run_seed: int, step: int) -> int:
    """network.ts: the seed of one dropout op's mask at one step (steps done before it)."""
    return (hash_string(f"dropout:{op_name}") ^ imul((run_seed + 1) & 0xFFFFFFFF, 0x9E3779B1)
            ^ imul((step + 1) & 0xFFFFFFFF, 0x85EBCA6B)) & 0xFFFFFFFF


def _to_uint32(h: float) -> int:
    """JavaScript's h >>> 0 for a finite double."""
    return int(math.trunc(h)) % _B


def _mash_state() -> List[float]:
    return [float(0xEFC8249D)]


def _mash(state: List[float], data: str) -> float:
    n = state[0]
    for unit in _utf16(data):
        n += unit
        h = 0.02519603282416938 * n
        n = float(_to_uint32(h))
        h -= n
        h *= n
        n = float(_to_uint32(h))
        h -= n
        n += h * 4294967296.0
    state[0] = n
    return _to_uint32(n) * 2.3283064365386963e-10


def _utf16(text: str) -> List[int]:
    raw = text.encode("utf-16-le", "surrogatepass")
    return [raw[i] | (raw[i + 1] << 8) for i in range(0, len(raw), 2)]


def alea_state(seed: str) -> Tuple[int, int, int, int]:
    """Alea's state after seeding with the string ``seed``: (x0, x1, x2, c), x = s·2³²."""
    mash = _mash_state()
    s = [_mash(mash, " "), _mash(mash, " "), _mash(mash, " ")]
    for i in range(3):
        s[i] -= _mash(mash, seed)
        if s[i] < 0:
            s[i] += 1
    xs = [int(v * 4294967296.0) for v in s]
    assert all(float(x) == v * 4294967296.0 for x, v in zip(xs, s)), "Alea's seeded state is not a multiple of 2^-32"
    return xs[0], xs[1], xs[2], 1


def alea_reference(seed: str, count: int) -> List[float]:
    """The first ``count`` doubles of seedrandom.alea(seed)(), evaluated as JavaScript does (for tests)."""
    mash = _mash_state()
    s0, s1, s2 = _mash(mash, " "), _mash(mash, " "), _mash(mash, " ")
    c = 1.0
    s0 -= _mash(mash, seed)
    s0 += 1 if s0 < 0 else 0
    s1 -= _mash(mash, seed)
    s1 += 1 if s1 < 0 else 0
    s2 -= _mash(mash, seed)
    s2 += 1 if s2 < 0 else 0
    out = []
    for _ in range(count):
        t = 2091639 * s0 + c * 2.3283064365386963e-10
        s0, s1 = s1, s2
        c = float(int(t))  # t | 0: t is in [0, 2091640)
        s2 = t - c
        out.append(s2)
    return out


def _pack(x0: int, x1: int, x2: int, c: int) -> int:
    return ((c * _B + x2) * _B + x1) * _B + x0


def _unpack(v: int) -> Tuple[int, int, int, int]:
    return v % _B, (v >> 32) % _B, (v >> 64) % _B, v >> 96


def alea_uint32(seed: str, count: int) -> torch.Tensor:
    """x of the first ``count`` draws of seedrandom.alea(seed) (each draw is x·2⁻³²), int64."""
    if count <= 0:
        return torch.zeros(0, dtype=torch.int64)
    lanes = -(-count // _LANE_STEPS)
    jump = pow(_B_INV, _LANE_STEPS, _P)
    v = _pack(*alea_state(seed))
    starts: List[Tuple[int, int, int, int]] = []
    for _ in range(lanes):
        starts.append(_unpack(v))
        v = v * jump % _P
    st = torch.tensor(starts, dtype=torch.int64)
    x0, x1, x2, c = st[:, 0].clone(), st[:, 1].clone(), st[:, 2].clone(), st[:, 3].clone()
    out = torch.empty((lanes, _LANE_STEPS), dtype=torch.int64)
    mask = _B - 1
    for k in range(_LANE_STEPS):
        t = x0 * _A + c  # < 2⁵³: exact in int64
        x0, x1 = x1, x2
        x2 = t & mask
        c = t >> 32
        out[:, k] = x2
    return out.reshape(-1)[:count]


def alea_float32(seed: str, count: int) -> torch.Tensor:
    """tf.randomUniform's values: Alea's doubles (x·2⁻³², exact) rounded to float32."""
    return (alea_uint32(seed, count).to(torch.float64) * 2.3283064365386963e-10).to(torch.float32)


def dropout_multiplier(shape: Sequence[int], rate: float, seed: int) -> torch.Tensor:
    """The float32 tensor graph-ops.ts ``dropout`` multiplies by: float32(1/(1 − rate)) where
    float32(u) − float32(rate) > 0, else 0; ``shape`` in the TypeScript (NHWC / token) layout."""
    count = 1
    for d in shape:
        count *= d
    u = alea_float32(str(seed), count).reshape(tuple(shape))
    rate32 = torch.tensor(rate, dtype=torch.float32)
    keep = (u - rate32) > 0
    scale = torch.tensor(1 / (1 - rate), dtype=torch.float32)
    return keep.to(torch.float32) * scale
