// The project's one source of randomness. Everything random in RPG (permutations, signs,
// ring init, data order) must be a pure function of the seed on every machine, so we use a
// small integer-only generator (xoshiro128**) instead of Math.random or a platform RNG.
// All arithmetic is 32-bit via Math.imul and >>> 0, which is exact in every JS engine.

/** FNV-1a over a string: names random streams ("plan", "signs", "ring-init", ...). */
export function hashString(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** splitmix32: expands one 32-bit seed into well-mixed state words. */
function splitmix32(state: { s: number }): number {
  state.s = (state.s + 0x9e3779b9) >>> 0;
  let z = state.s;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

/** A generator's whole state, to resume a stream where it was (see Rng.fromState). */
export type RngState = readonly [number, number, number, number, number | undefined];

export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;
  private spareNormal: number | undefined;

  /** A generator for one named stream of one seed: `new Rng(seed, 'signs')`. */
  constructor(seed: number, stream = '') {
    const st = { s: (Math.trunc(seed) ^ hashString(stream)) >>> 0 };
    this.a = splitmix32(st);
    this.b = splitmix32(st);
    this.c = splitmix32(st);
    this.d = splitmix32(st);
    if ((this.a | this.b | this.c | this.d) === 0) this.d = 1;
  }

  /** A generator that continues exactly where the one that gave `state` stood. */
  static fromState(state: RngState): Rng {
    const rng = new Rng(0);
    [rng.a, rng.b, rng.c, rng.d, rng.spareNormal] = state;
    return rng;
  }

  state(): RngState {
    return [this.a, this.b, this.c, this.d, this.spareNormal];
  }

  /** Next uniform 32-bit unsigned integer (xoshiro128**). */
  nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(this.b, 5), 7), 9) >>> 0;
    const t = this.b << 9;
    this.c ^= this.a;
    this.d ^= this.b;
    this.b ^= this.c;
    this.a ^= this.d;
    this.c ^= t;
    this.d = rotl(this.d, 11);
    return result;
  }

  /** Uniform in [0, 1) with 32 bits of resolution. */
  nextFloat(): number {
    return this.nextUint32() / 4294967296;
  }

  /** Uniform integer in [0, n), unbiased (rejection sampling), n ≤ 2^32. */
  nextInt(n: number): number {
    if (n <= 1) return 0;
    // a − ⌊a/n⌋·n instead of a % n: the same integer (a/n is never rounded across an integer
    // for a < 2^33), but `%` on values above 2^31 is a call to fmod in V8, ~10× slower; a
    // 21M-entry permutation drew in 3.7 s with it.
    const limit = Math.floor(4294967296 / n) * n; // the largest multiple of n ≤ 2^32
    let x = this.nextUint32();
    while (x >= limit) x = this.nextUint32();
    return x - Math.floor(x / n) * n;
  }

  /** A fair ±1. */
  nextSign(): 1 | -1 {
    return this.nextUint32() & 1 ? 1 : -1;
  }

  /**
   * Standard normal by Box–Muller, r·cos(2πv) now and r·sin(2πv) kept for the next call, with
   * r = √(−2 ln u). The logarithm and the cosine/sine are our own (see normalPair): built from
   * + − × ÷ and √ only, which IEEE 754 rounds correctly everywhere, so the PyTorch engine
   * (python/rpg_torch/prng.py) draws the very same doubles; Math.log/cos/sin differ between V8
   * and C libraries in the last bit.
   */
  nextNormal(): number {
    if (this.spareNormal !== undefined) {
      const v = this.spareNormal;
      this.spareNormal = undefined;
      return v;
    }
    let u = 0;
    while (u === 0) u = this.nextUint32(); // u/2^32 ∈ (0, 1)
    const [c, s] = normalPair(u, this.nextUint32());
    this.spareNormal = s;
    return c;
  }

  /** In-place Fisher–Yates shuffle of the first `length` entries. */
  shuffle<T extends { [i: number]: number; length: number }>(array: T, length = array.length): T {
    for (let i = length - 1; i > 0; i--) {
      const j = this.nextInt(i + 1);
      const tmp = array[i]!;
      array[i] = array[j]!;
      array[j] = tmp;
    }
    return array;
  }

  /** A random permutation of 0..n-1. */
  permutation(n: number): Int32Array {
    const p = new Int32Array(n);
    for (let i = 0; i < n; i++) p[i] = i;
    return this.shuffle(p);
  }

  /**
   * Advances exactly as `permutation(n)` would, without allocating it: lets one layer's
   * draws be reached without materializing the layers before it.
   */
  skipPermutation(n: number): void {
    for (let i = n - 1; i > 0; i--) this.nextInt(i + 1);
  }

  /** Advances past `n` draws of nextUint32 (or nextSign, which takes one each). */
  skip(n: number): void {
    for (let i = 0; i < n; i++) this.nextUint32();
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

// ---- Box–Muller from correctly rounded operations only --------------------------------------
// Every constant below is either a decimal literal (parsed with correct rounding) or made from
// such by exact operations, and every formula is evaluated in one fixed order: the Python port
// (python/rpg_torch/prng.py, and its vectorized twin) repeats the same operations, so both
// engines draw bit-identical normals. Accuracy: ~1e-16 relative for ln, ~1e-16 absolute for
// cos/sin (the truncated series terms are below 1e-18).

/** fdlibm's split of ln 2: LN2_HI has trailing zero bits, so e·LN2_HI is exact for |e| < 2^20. */
const LN2_HI = 6.93147180369123816490e-1;
const LN2_LO = 1.90821492927058770002e-10;
const SQRT2 = Math.sqrt(2);
/** 2^−e for e = 0..32, by exact halving. */
const INV_POW2: number[] = [1];
for (let e = 1; e <= 32; e++) INV_POW2.push(INV_POW2[e - 1]! / 2);
/** 1/(2k+1) for k = 1..11: the atanh series, ln m = 2·atanh((m−1)/(m+1)). */
const ATANH_COEF: number[] = Array.from({ length: 11 }, (_, k) => 1 / (2 * k + 3));
/** (−1)^k/(2k+1)! and (−1)^k/(2k)! for k = 1..9, by repeated division. */
const SIN_COEF: number[] = [];
const COS_COEF: number[] = [];
{
  let f = 1; // 1/n!
  for (let n = 1; n <= 19; n++) {
    f = f / n;
    const signed = (n >> 1) % 2 === 1 ? -f : f;
    if (n % 2 === 1 && n > 1) SIN_COEF.push(signed);
    if (n % 2 === 0) COS_COEF.push(signed);
  }
}
/** (π/2)/2^30, an exact scaling of Math.PI: a 30-bit angle fraction times this is the angle. */
const QUARTER_TURN_UNIT = Math.PI * INV_POW2[31]!;

/** ln(k / 2^32) for an integer k in [1, 2^32). */
export function lnUnit(k: number): number {
  let e = 31 - Math.clz32(k); // k = m·2^e, m ∈ [1, 2)
  let m = k * INV_POW2[e]!;
  if (m > SQRT2) {
    m = m / 2; // m ∈ (√2/2, √2]: |f| ≤ 0.172 below
    e = e + 1;
  }
  const f = (m - 1) / (m + 1);
  const s = f * f;
  let q = ATANH_COEF[10]!;
  for (let i = 9; i >= 0; i--) q = q * s + ATANH_COEF[i]!;
  const t = f + f;
  const lnM = t + t * (s * q);
  const n = e - 32;
  return n * LN2_HI + (n * LN2_LO + lnM);
}

/** [cos 2πv, sin 2πv] for v = w / 2^32, w an integer in [0, 2^32). */
export function cosSinTurn(w: number): [number, number] {
  // Quarter turns from the top two bits, exactly; the low 30 bits, centred, give |x| ≤ π/4.
  let quadrant = w >>> 30;
  let low = w & 0x3fffffff;
  if (low >= 0x20000000) {
    low -= 0x40000000;
    quadrant = (quadrant + 1) & 3;
  }
  const x = low * QUARTER_TURN_UNIT;
  const x2 = x * x;
  let sp = SIN_COEF[8]!;
  for (let i = 7; i >= 0; i--) sp = sp * x2 + SIN_COEF[i]!;
  let cp = COS_COEF[8]!;
  for (let i = 7; i >= 0; i--) cp = cp * x2 + COS_COEF[i]!;
  const sin = x + (x * x2) * sp;
  const cos = 1 + x2 * cp;
  switch (quadrant) {
    case 0:
      return [cos, sin];
    case 1:
      return [-sin, cos];
    case 2:
      return [-cos, -sin];
    default:
      return [sin, -cos];
  }
}

/** Box–Muller on two 32-bit draws: u ∈ [1, 2^32) for the radius, w for the angle. */
export function normalPair(u: number, w: number): [number, number] {
  const r = Math.sqrt(-2 * lnUnit(u));
  const [c, s] = cosSinTurn(w);
  return [r * c, r * s];
}
