"""The project's one source of randomness, bit-identical to src/rpg/prng.ts.

xoshiro128** seeded through splitmix32 per named stream (FNV-1a of the stream name), with all
arithmetic on Python integers masked to 32 bits (what Math.imul and ``>>> 0`` give in
JavaScript). Normals come from a Box–Muller whose logarithm, cosine and sine are built from
+ − × ÷ and sqrt only (IEEE 754 rounds those correctly in every language), evaluated in the same
order as the TypeScript, so both engines draw the same doubles.

This is the scalar reference; ``streams.py`` draws the same values in bulk with tensor ops.
"""
from __future__ import annotations

import math
from typing import List, Optional, Sequence, Tuple

M32 = 0xFFFFFFFF

RngState = Tuple[int, int, int, int, Optional[float]]


def imul(a: int, b: int) -> int:
    """Math.imul followed by >>> 0: the low 32 bits of the product, unsigned."""
    return (a * b) & M32


def hash_string(text: str) -> int:
    """FNV-1a over UTF-16 code units (JavaScript's charCodeAt), as hashString in prng.ts."""
    h = 0x811C9DC5
    for unit in _utf16_units(text):
        h ^= unit
        h = imul(h, 0x01000193)
    return h


def _utf16_units(text: str) -> List[int]:
    data = text.encode("utf-16-le", "surrogatepass")
    return [data[i] | (data[i + 1] << 8) for i in range(0, len(data), 2)]


def _splitmix32(state: List[int]) -> int:
    state[0] = (state[0] + 0x9E3779B9) & M32
    z = state[0]
    z = imul(z ^ (z >> 16), 0x85EBCA6B)
    z = imul(z ^ (z >> 13), 0xC2B2AE35)
    return (z ^ (z >> 16)) & M32


def _rotl(x: int, k: int) -> int:
    return ((x << k) | (x >> (32 - k))) & M32


def js_trunc_to_u32(seed: float) -> int:
    """(Math.trunc(seed) ^ h) >>> 0 reads the seed as ToInt32: its value modulo 2^32."""
    return int(math.trunc(seed)) & M32


class Rng:
    """A generator for one named stream of one seed: ``Rng(seed, 'signs')``."""

    __slots__ = ("a", "b", "c", "d", "spare")

    def __init__(self, seed: float = 0, stream: str = "") -> None:
        st = [(js_trunc_to_u32(seed) ^ hash_string(stream)) & M32]
        self.a = _splitmix32(st)
        self.b = _splitmix32(st)
        self.c = _splitmix32(st)
        self.d = _splitmix32(st)
        if (self.a | self.b | self.c | self.d) == 0:
            self.d = 1
        self.spare: Optional[float] = None

    @staticmethod
    def from_state(state: Sequence) -> "Rng":
        rng = Rng(0)
        rng.a, rng.b, rng.c, rng.d = (int(v) for v in state[:4])
        rng.spare = state[4] if len(state) > 4 else None
        return rng

    def state(self) -> RngState:
        return (self.a, self.b, self.c, self.d, self.spare)

    def next_uint32(self) -> int:
        b = self.b
        result = imul(_rotl(imul(b, 5), 7), 9)
        t = (b << 9) & M32
        self.c ^= self.a
        self.d ^= b
        self.b = b ^ self.c
        self.a ^= self.d
        self.c ^= t
        self.d = _rotl(self.d, 11)
        return result

    def next_float(self) -> float:
        return self.next_uint32() / 4294967296

    def next_int(self, n: int) -> int:
        """Uniform integer in [0, n), unbiased (rejection sampling), n <= 2^32."""
        if n <= 1:
            return 0
        limit = (4294967296 // n) * n
        x = self.next_uint32()
        while x >= limit:
            x = self.next_uint32()
        return x % n

    def next_sign(self) -> int:
        return 1 if self.next_uint32() & 1 else -1

    def next_normal(self) -> float:
        if self.spare is not None:
            v = self.spare
            self.spare = None
            return v
        u = 0
        while u == 0:
            u = self.next_uint32()
        c, s = normal_pair(u, self.next_uint32())
        self.spare = s
        return c

    def shuffle(self, array: list, length: Optional[int] = None) -> list:
        """In-place Fisher–Yates shuffle of the first ``length`` entries."""
        n = len(array) if length is None else length
        for i in range(n - 1, 0, -1):
            j = self.next_int(i + 1)
            array[i], array[j] = array[j], array[i]
        return array

    def permutation(self, n: int) -> List[int]:
        return self.shuffle(list(range(n)))

    def skip_permutation(self, n: int) -> None:
        for i in range(n - 1, 0, -1):
            self.next_int(i + 1)

    def skip(self, n: int) -> None:
        for _ in range(n):
            self.next_uint32()


# ---- Box–Muller from correctly rounded operations only (mirrors prng.ts line by line) ----

LN2_HI = 6.93147180369123816490e-1
LN2_LO = 1.90821492927058770002e-10
SQRT2 = math.sqrt(2)
INV_POW2 = [1.0]
for _e in range(1, 33):
    INV_POW2.append(INV_POW2[_e - 1] / 2)
ATANH_COEF = [1 / (2 * k + 3) for k in range(11)]
SIN_COEF: List[float] = []
COS_COEF: List[float] = []
_f = 1.0
for _n in range(1, 20):
    _f = _f / _n
    _signed = -_f if (_n >> 1) % 2 == 1 else _f
    if _n % 2 == 1 and _n > 1:
        SIN_COEF.append(_signed)
    if _n % 2 == 0:
        COS_COEF.append(_signed)
QUARTER_TURN_UNIT = math.pi * INV_POW2[31]


def ln_unit(k: int) -> float:
    """ln(k / 2^32) for an integer k in [1, 2^32)."""
    e = k.bit_length() - 1
    m = k * INV_POW2[e]
    if m > SQRT2:
        m = m / 2
        e = e + 1
    f = (m - 1) / (m + 1)
    s = f * f
    q = ATANH_COEF[10]
    for i in range(9, -1, -1):
        q = q * s + ATANH_COEF[i]
    t = f + f
    ln_m = t + t * (s * q)
    n = e - 32
    return n * LN2_HI + (n * LN2_LO + ln_m)


def cos_sin_turn(w: int) -> Tuple[float, float]:
    """(cos 2πv, sin 2πv) for v = w / 2^32."""
    quadrant = w >> 30
    low = w & 0x3FFFFFFF
    if low >= 0x20000000:
        low -= 0x40000000
        quadrant = (quadrant + 1) & 3
    x = low * QUARTER_TURN_UNIT
    x2 = x * x
    sp = SIN_COEF[8]
    for i in range(7, -1, -1):
        sp = sp * x2 + SIN_COEF[i]
    cp = COS_COEF[8]
    for i in range(7, -1, -1):
        cp = cp * x2 + COS_COEF[i]
    sin = x + (x * x2) * sp
    cos = 1 + x2 * cp
    if quadrant == 0:
        return cos, sin
    if quadrant == 1:
        return -sin, cos
    if quadrant == 2:
        return -cos, -sin
    return sin, -cos


def normal_pair(u: int, w: int) -> Tuple[float, float]:
    r = math.sqrt(-2 * ln_unit(u))
    c, s = cos_sin_turn(w)
    return r * c, r * s
