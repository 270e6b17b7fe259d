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

  /** Standard normal (Box–Muller; V8's log/cos/sin are fdlibm ports, identical across hosts). */
  nextNormal(): number {
    if (this.spareNormal !== undefined) {
      const v = this.spareNormal;
      this.spareNormal = undefined;
      return v;
    }
    let u = 0;
    while (u === 0) u = this.nextFloat();
    const v = this.nextFloat();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spareNormal = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
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
