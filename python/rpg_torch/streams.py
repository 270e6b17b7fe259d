"""Bulk draws from an Rng stream with tensor ops, equal value for value to the scalar ``Rng``.

A ResNet-34 plan draws ~21M permutation steps and ~21M signs: one Python call per draw would
take a minute. xoshiro128** is linear over GF(2)^128, so its state k steps ahead is a 128×128
bit matrix times the state. We cut a stream of n draws into L lanes of B consecutive draws,
jump each lane to its start with the matrix T^B, and step all lanes at once as int64 tensors
(32-bit words, masked). On top of the raw stream:

- ``permutation``: Fisher–Yates with rejection sampling. Rejections are rare (probability
  < n/2^32 per draw), so a short Python walk over the few candidate positions finds which raw
  draws were rejected; the swaps are then composed without a sequential loop (see
  ``_compose_swaps``).
- ``signs``: one draw per sign, its lowest bit.
- ``normals``: pairs (u, w) as in ``Rng.next_normal`` (u = 0 is skipped), then the same
  correctly-rounded Box–Muller as ``prng.normal_pair``, element-wise in float64.

Every function takes and returns a state (``Rng.state()``), so streams continue exactly.
"""
from __future__ import annotations

import math
from typing import List, Optional, Sequence, Tuple

import torch

from . import prng
from .prng import M32, Rng, RngState

# Below this many draws the scalar generator is faster than setting up lanes.
SCALAR_LIMIT = 4096


# ---- the transition as a bit matrix -------------------------------------------------------

def _pack(a: int, b: int, c: int, d: int) -> int:
    return a | (b << 32) | (c << 64) | (d << 96)


def _unpack(v: int) -> Tuple[int, int, int, int]:
    return v & M32, (v >> 32) & M32, (v >> 64) & M32, (v >> 96) & M32


def _step_packed(v: int) -> int:
    a, b, c, d = _unpack(v)
    t = (b << 9) & M32
    c ^= a
    d ^= b
    b ^= c
    a ^= d
    c ^= t
    d = ((d << 11) | (d >> 21)) & M32
    return _pack(a, b, c, d)


class _BitMatrix:
    """A 128×128 matrix over GF(2) given by its columns, applied through byte tables."""

    __slots__ = ("cols", "_tables")

    def __init__(self, cols: List[int]) -> None:
        self.cols = cols
        self._tables: Optional[List[List[int]]] = None

    def _build_tables(self) -> List[List[int]]:
        tables = []
        for pos in range(16):
            cols = self.cols[pos * 8:(pos + 1) * 8]
            table = [0] * 256
            for byte in range(1, 256):
                low = byte & -byte
                table[byte] = table[byte ^ low] ^ cols[low.bit_length() - 1]
            tables.append(table)
        return tables

    def apply(self, v: int) -> int:
        tables = self._tables
        if tables is None:
            tables = self._tables = self._build_tables()
        out = 0
        pos = 0
        while v:
            out ^= tables[pos][v & 0xFF]
            v >>= 8
            pos += 1
        return out

    def then(self, other: "_BitMatrix") -> "_BitMatrix":
        """The matrix of applying self, then other (other ∘ self)."""
        return _BitMatrix([other.apply(c) for c in self.cols])


_POWERS: List[_BitMatrix] = []  # _POWERS[i] = T^(2^i)


def _power(i: int) -> _BitMatrix:
    if not _POWERS:
        _POWERS.append(_BitMatrix([_step_packed(1 << k) for k in range(128)]))
    while len(_POWERS) <= i:
        p = _POWERS[-1]
        _POWERS.append(p.then(p))
    return _POWERS[i]


def jump(state: Sequence, n: int) -> RngState:
    """The state after n draws of next_uint32 from ``state`` (the spare normal is kept)."""
    v = _pack(*(int(x) for x in state[:4]))
    i = 0
    while n:
        if n & 1:
            v = _power(i).apply(v)
        n >>= 1
        i += 1
    a, b, c, d = _unpack(v)
    return (a, b, c, d, state[4] if len(state) > 4 else None)


# ---- the raw stream -----------------------------------------------------------------------

def raw_uint32(state: Sequence, count: int) -> Tuple[torch.Tensor, RngState]:
    """The next ``count`` values of next_uint32 as an int64 tensor, and the state after them."""
    if count <= SCALAR_LIMIT:
        rng = Rng.from_state(state)
        values = [rng.next_uint32() for _ in range(count)]
        return torch.tensor(values, dtype=torch.int64), rng.state()
    # Lane length B (a power of two, so T^B is one of the cached powers) balances the Python
    # cost of jumping L = count/B lanes against the tensor-op overhead of B steps.
    log_b = max(5, int(round(math.log2(math.sqrt(count * 0.03)))))
    B = 1 << log_b
    L = (count + B - 1) // B
    jump_b = _power(log_b)
    v = _pack(*(int(x) for x in state[:4]))
    lanes = []
    for _ in range(L):
        lanes.append(_unpack(v))
        v = jump_b.apply(v)
    words = torch.tensor(lanes, dtype=torch.int64)  # [L, 4]
    a, b, c, d = (words[:, i].contiguous() for i in range(4))
    out = torch.empty((B, L), dtype=torch.int64)
    for s in range(B):
        r = (b * 5) & M32  # result = rotl(b·5, 7)·9, all mod 2^32
        r = ((r << 7) | (r >> 25)) & M32
        torch.bitwise_and(r * 9, M32, out=out[s])
        t = (b << 9) & M32
        c ^= a
        d ^= b
        b ^= c
        a ^= d
        c ^= t
        d = ((d << 11) | (d >> 21)) & M32
    flat = out.t().reshape(-1)[:count].clone()
    return flat, jump(state, count)


# ---- signs --------------------------------------------------------------------------------

def signs(state: Sequence, count: int) -> Tuple[torch.Tensor, RngState]:
    """``count`` draws of next_sign as an int8 tensor of ±1."""
    raw, after = raw_uint32(state, count)
    return ((raw & 1) * 2 - 1).to(torch.int8), after


# ---- permutations -------------------------------------------------------------------------

def permutation(state: Sequence, n: int) -> Tuple[torch.Tensor, RngState]:
    """``Rng.permutation(n)`` as an int64 tensor, and the state after it."""
    if n <= SCALAR_LIMIT:
        rng = Rng.from_state(state)
        p = rng.permutation(n)
        return torch.tensor(p, dtype=torch.int64), rng.state()
    draws, after = _bounded_draws(state, n)
    # Step k (k = 0..n-2) swaps position i = n-1-k with j_k = x_k mod (i+1).
    moduli = torch.arange(n, 1, -1, dtype=torch.int64)
    j_of_step = torch.zeros(n, dtype=torch.int64)
    j_of_step[1:] = torch.flip(torch.remainder(draws, moduli), [0])
    return _compose_swaps(j_of_step), after


def _bounded_draws(state: Sequence, n: int) -> Tuple[torch.Tensor, RngState]:
    """The accepted draws of next_int(n), next_int(n-1), …, next_int(2), before reduction."""
    needed = n - 1
    expected_rejections = (n * n) // (1 << 33)
    total = needed + 64 + 2 * expected_rejections
    raw, cursor_state = raw_uint32(state, total)
    threshold = 4294967296 - n  # every rejected draw exceeds it (limit(m) > 2^32 - m)
    rejected: List[int] = []
    p_from = 0
    while True:
        cand = torch.nonzero(raw[p_from:] >= threshold).flatten()
        values = raw[p_from:][cand].tolist()
        positions = (cand + p_from).tolist()
        d = len(rejected)
        done = False
        for p, x in zip(positions, values):
            k = p - d
            if k > needed - 1:
                done = True
                break
            m = n - k
            if x >= (4294967296 // m) * m:
                rejected.append(p)
                d += 1
        consumed = needed + d
        if done or consumed <= raw.numel():
            break
        # More rejections than budgeted: extend the stream and keep walking.
        p_from = raw.numel()
        more, cursor_state = raw_uint32(cursor_state, 64 + 2 * expected_rejections)
        raw = torch.cat([raw, more])
    consumed = needed + len(rejected)
    keep = torch.ones(consumed, dtype=torch.bool)
    if rejected:
        keep[torch.tensor(rejected, dtype=torch.int64)] = False
    return raw[:consumed][keep], jump(state, consumed)


def _compose_swaps(j_of_step: torch.Tensor) -> torch.Tensor:
    """The array Fisher–Yates leaves when it starts from 0..n-1 and, for i = n-1 down to 1,
    swaps positions i and j_of_step[i] (each j_of_step[i] <= i).

    After step i position i is final, and holds what position j_i held just before step i.
    Only steps s > i with j_s = p wrote into a position p <= i before step i, the last of them
    the smallest such s, which wrote what position s held just before step s. So with
    W(p) = what position p holds just before step p, and next(p) = the smallest s > p with
    j_s = p: W(p) = W(next(p)), or p itself when there is no such s. Final position i (>= 1)
    holds W(s*) for s* = the smallest s > i with j_s = j_i, or j_i when none; position 0 holds
    W(0). The smallest-s queries are neighbours in the steps sorted by (j, s), and W follows
    the increasing chains by pointer doubling.
    """
    n = j_of_step.numel()
    steps = torch.arange(1, n, dtype=torch.int64)
    sorted_j, order = torch.sort(j_of_step[1:], stable=True)  # by j, then by s (s increasing)
    sorted_s = steps[order]
    same_next = torch.zeros(n - 1, dtype=torch.bool)
    same_next[:-1] = sorted_j[1:] == sorted_j[:-1]
    succ_sorted = torch.full((n - 1,), -1, dtype=torch.int64)
    succ_sorted[:-1] = torch.where(same_next[:-1], sorted_s[1:], succ_sorted[:-1])
    succ_of_step = torch.full((n,), -1, dtype=torch.int64)
    succ_of_step[sorted_s] = succ_sorted
    positions = torch.arange(n, dtype=torch.int64)
    first = torch.searchsorted(sorted_j, positions)
    first_c = first.clamp(max=n - 2)
    exists = (first < n - 1) & (sorted_j[first_c] == positions)
    cand = sorted_s[first_c]
    nxt = torch.where(exists, torch.where(cand == positions, succ_of_step, cand), torch.full_like(cand, -1))
    ptr = torch.where(nxt >= 0, nxt, positions)
    del nxt, cand, exists, first, first_c, sorted_j, order, same_next, succ_sorted
    while True:
        nxt_ptr = ptr[ptr]
        if torch.equal(nxt_ptr, ptr):
            break
        ptr = nxt_ptr
    result = torch.where(succ_of_step >= 0, ptr[succ_of_step.clamp(min=0)], j_of_step)
    result[0] = ptr[0]
    return result


# ---- normals ------------------------------------------------------------------------------

def normals(state: Sequence, count: int) -> Tuple[torch.Tensor, RngState]:
    """``count`` draws of next_normal as a float64 tensor, and the state after them."""
    spare = state[4] if len(state) > 4 else None
    head: List[float] = []
    if spare is not None and count > 0:
        head.append(spare)
        count -= 1
        state = tuple(state[:4]) + (None,)
    if count <= SCALAR_LIMIT // 2:
        rng = Rng.from_state(state)
        values = head + [rng.next_normal() for _ in range(count)]
        return torch.tensor(values, dtype=torch.float64), rng.state()
    pairs = (count + 1) // 2
    raw, _ = raw_uint32(state, 2 * pairs + 16)
    u_pos = _radius_positions(raw, pairs, state)
    if u_pos is None:  # a zero beyond the budget: rare enough to draw the stream again, longer
        raw, _ = raw_uint32(state, 2 * pairs + 4096)
        u_pos = _radius_positions(raw, pairs, state)
        assert u_pos is not None, "too many zero draws"
    u = raw[u_pos]
    w = raw[u_pos + 1]
    c, s = normal_pairs(u, w)
    z = torch.stack([c, s], 1).reshape(-1)[:count]
    consumed = int(u_pos[-1]) + 2
    a, b, cc, d, _ = jump(state, consumed)
    new_spare = float(s[-1]) if count % 2 == 1 else None
    if head:
        z = torch.cat([torch.tensor(head, dtype=torch.float64), z])
    return z, (a, b, cc, d, new_spare)


def _radius_positions(raw: torch.Tensor, pairs: int, state) -> Optional[torch.Tensor]:
    """Positions of the u draws of ``pairs`` normal pairs: pairs are (u, w) back to back, but a
    u draw of 0 is skipped (next_normal loops until u != 0). None when raw is too short."""
    zeros = torch.nonzero(raw == 0).flatten().tolist()
    starts: List[torch.Tensor] = []
    pos = 0
    have = 0
    for z in zeros:
        if z < pos:
            continue
        if (z - pos) % 2 == 1:
            continue  # a w draw of 0 is a fine angle
        k = (z - pos) // 2  # pairs before this skipped u
        take = min(k, pairs - have)
        starts.append(pos + 2 * torch.arange(take, dtype=torch.int64))
        have += take
        if have == pairs:
            break
        pos = z + 1
    if have < pairs:
        rest = pairs - have
        if pos + 2 * rest > raw.numel():
            return None
        starts.append(pos + 2 * torch.arange(rest, dtype=torch.int64))
    return torch.cat(starts)


def ln_units(k: torch.Tensor) -> torch.Tensor:
    """prng.ln_unit element-wise (int64 k in [1, 2^32) → float64), the same operations."""
    mant, ex = torch.frexp(k.to(torch.float64))  # k = mant·2^ex, mant ∈ [0.5, 1): exact
    m = mant * 2
    e = ex.to(torch.int64) - 1
    big = m > prng.SQRT2
    m = torch.where(big, m / 2, m)
    e = e + big.to(torch.int64)
    f = (m - 1) / (m + 1)
    s = f * f
    q = torch.full_like(s, prng.ATANH_COEF[10])
    for i in range(9, -1, -1):
        q = q * s + prng.ATANH_COEF[i]
    t = f + f
    ln_m = t + t * (s * q)
    n = (e - 32).to(torch.float64)
    return n * prng.LN2_HI + (n * prng.LN2_LO + ln_m)


def cos_sin_turns(w: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
    """prng.cos_sin_turn element-wise (int64 w in [0, 2^32) → float64 cos, sin)."""
    quadrant = w >> 30
    low = w & 0x3FFFFFFF
    adj = low >= 0x20000000
    low = torch.where(adj, low - 0x40000000, low)
    quadrant = (quadrant + adj.to(torch.int64)) & 3
    x = low.to(torch.float64) * prng.QUARTER_TURN_UNIT
    x2 = x * x
    sp = torch.full_like(x, prng.SIN_COEF[8])
    for i in range(7, -1, -1):
        sp = sp * x2 + prng.SIN_COEF[i]
    cp = torch.full_like(x, prng.COS_COEF[8])
    for i in range(7, -1, -1):
        cp = cp * x2 + prng.COS_COEF[i]
    sin = x + (x * x2) * sp
    cos = 1 + x2 * cp
    cos_out = torch.where(quadrant == 0, cos, torch.where(quadrant == 1, -sin, torch.where(quadrant == 2, -cos, sin)))
    sin_out = torch.where(quadrant == 0, sin, torch.where(quadrant == 1, cos, torch.where(quadrant == 2, -sin, -cos)))
    return cos_out, sin_out


def normal_pairs(u: torch.Tensor, w: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
    r = torch.sqrt(ln_units(u) * -2)
    c, s = cos_sin_turns(w)
    return r * c, r * s

