// Pruning and quantization of the ring, and the compact encodings the .rpgz file uses.
// Everything here is plain JS over typed arrays and deterministic: the dequantized ring is a
// pure function of (codes, scales, mask), so every loader regenerates identical weights.

import { TrainError } from '../errors';

/** A bad compression setting or a damaged .rpgz; a TrainError, so the CLI prints it as one line. */
export class CompressError extends TrainError {
  constructor(message: string) {
    super('checkpoint', message);
    this.name = 'CompressError';
  }
}

/**
 * Magnitude pruning: mask[j] = 0 for the round(fraction·M) entries of smallest |value| (ties
 * broken by index, so the mask is deterministic), 1 for the rest.
 */
export function magnitudeMask(values: Float32Array, fraction: number): Uint8Array {
  if (!(fraction >= 0 && fraction < 1)) throw new CompressError(`the pruned fraction must be in [0, 1), got ${fraction}`);
  const M = values.length;
  const prune = Math.round(fraction * M);
  const mask = new Uint8Array(M).fill(1);
  if (prune === 0) return mask;
  const order = Array.from({ length: M }, (_, i) => i);
  order.sort((a, b) => Math.abs(values[a]!) - Math.abs(values[b]!) || a - b);
  for (let k = 0; k < prune; k++) mask[order[k]!] = 0;
  return mask;
}

export function countKept(mask: Uint8Array): number {
  let n = 0;
  for (let i = 0; i < mask.length; i++) n += mask[i]!;
  return n;
}

export function applyMask(values: Float32Array, mask: Uint8Array): Float32Array {
  const out = new Float32Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = mask[i] ? values[i]! : 0;
  return out;
}

export interface Quantized {
  readonly bits: number;
  /** Block length in ring entries (M for one scale for the whole ring). */
  readonly block: number;
  /** One float32 scale per block: value = code · scale. */
  readonly scales: Float32Array;
  /** One signed code per ring entry, in [−(2^(bits−1)−1), 2^(bits−1)−1]; 0 where pruned. */
  readonly codes: Int8Array;
}

export const maxCode = (bits: number) => (1 << (bits - 1)) - 1;

/** Symmetric uniform quantization with one scale per block of `block` consecutive entries. */
export function quantize(values: Float32Array, mask: Uint8Array, bits: number, block = values.length): Quantized {
  if (!Number.isInteger(bits) || bits < 2 || bits > 8) throw new CompressError(`bits must be an integer from 2 to 8, got ${bits}`);
  const M = values.length;
  const B = Math.max(1, Math.min(Math.floor(block) || M, M));
  const q = maxCode(bits);
  const nBlocks = Math.ceil(M / B);
  const scales = new Float32Array(nBlocks);
  const codes = new Int8Array(M);
  for (let b = 0; b < nBlocks; b++) {
    let maxAbs = 0;
    for (let j = b * B; j < Math.min(M, (b + 1) * B); j++) if (mask[j]) maxAbs = Math.max(maxAbs, Math.abs(values[j]!));
    const scale = Math.fround(maxAbs / q);
    scales[b] = scale;
    if (scale === 0) continue;
    for (let j = b * B; j < Math.min(M, (b + 1) * B); j++) {
      if (!mask[j]) continue;
      codes[j] = Math.max(-q, Math.min(q, Math.round(values[j]! / scale)));
    }
  }
  return { bits, block: B, scales, codes };
}

/** The ring the compressed model runs with: code · scale, computed in float32. */
export function dequantize(qz: Pick<Quantized, 'block' | 'scales' | 'codes'>): Float32Array {
  const out = new Float32Array(qz.codes.length);
  for (let j = 0; j < out.length; j++) out[j] = Math.fround(qz.codes[j]! * qz.scales[Math.floor(j / qz.block)]!);
  return out;
}

/** Packs the kept entries' codes, offset to unsigned (code + 2^(bits−1)), `bits` each, LSB first. */
export function packCodes(codes: Int8Array, mask: Uint8Array, bits: number): Uint8Array {
  const kept = countKept(mask);
  const out = new Uint8Array(Math.ceil((kept * bits) / 8));
  const offset = 1 << (bits - 1);
  let bitPos = 0;
  for (let j = 0; j < codes.length; j++) {
    if (!mask[j]) continue;
    let u = codes[j]! + offset;
    for (let k = 0; k < bits; k++, bitPos++, u >>= 1) if (u & 1) out[bitPos >> 3]! |= 1 << (bitPos & 7);
  }
  return out;
}

export function unpackCodes(packed: Uint8Array, mask: Uint8Array, bits: number): Int8Array {
  const codes = new Int8Array(mask.length);
  const offset = 1 << (bits - 1);
  const need = Math.ceil((countKept(mask) * bits) / 8);
  if (packed.length < need) throw new CompressError(`code section holds ${packed.length} bytes, ${need} needed`);
  let bitPos = 0;
  for (let j = 0; j < mask.length; j++) {
    if (!mask[j]) continue;
    let u = 0;
    for (let k = 0; k < bits; k++, bitPos++) if (packed[bitPos >> 3]! & (1 << (bitPos & 7))) u |= 1 << k;
    codes[j] = u - offset;
  }
  return codes;
}

/**
 * Mask encodings, the smallest is used: 'all' (nothing pruned, 0 bytes), 'bitmap' (M bits),
 * 'kept-gaps' / 'pruned-gaps' (LEB128 varints of the gaps between consecutive kept or pruned
 * indices: small when few entries are kept or few are pruned).
 */
export type MaskEncoding = 'all' | 'bitmap' | 'kept-gaps' | 'pruned-gaps';

function varints(gaps: number[]): Uint8Array {
  const bytes: number[] = [];
  for (let g of gaps) {
    while (g >= 0x80) {
      bytes.push((g & 0x7f) | 0x80);
      g = Math.floor(g / 128);
    }
    bytes.push(g);
  }
  return Uint8Array.from(bytes);
}

function gapsOf(mask: Uint8Array, value: 0 | 1): number[] {
  const gaps: number[] = [];
  let last = -1;
  for (let j = 0; j < mask.length; j++) {
    if (mask[j] !== value) continue;
    gaps.push(j - last - 1);
    last = j;
  }
  return gaps;
}

export function encodeMask(mask: Uint8Array): { encoding: MaskEncoding; bytes: Uint8Array } {
  const kept = countKept(mask);
  if (kept === mask.length) return { encoding: 'all', bytes: new Uint8Array(0) };
  const bitmap = new Uint8Array(Math.ceil(mask.length / 8));
  for (let j = 0; j < mask.length; j++) if (mask[j]) bitmap[j >> 3]! |= 1 << (j & 7);
  const options: { encoding: MaskEncoding; bytes: Uint8Array }[] = [
    { encoding: 'bitmap', bytes: bitmap },
    { encoding: 'kept-gaps', bytes: varints(gapsOf(mask, 1)) },
    { encoding: 'pruned-gaps', bytes: varints(gapsOf(mask, 0)) },
  ];
  return options.reduce((a, b) => (b.bytes.length < a.bytes.length ? b : a));
}

export function decodeMask(encoding: MaskEncoding, bytes: Uint8Array, length: number, kept: number): Uint8Array {
  const mask = new Uint8Array(length);
  if (encoding === 'all') return mask.fill(1);
  if (encoding === 'bitmap') {
    if (bytes.length !== Math.ceil(length / 8)) throw new CompressError(`mask bitmap holds ${bytes.length} bytes, ${Math.ceil(length / 8)} expected`);
    for (let j = 0; j < length; j++) mask[j] = (bytes[j >> 3]! >> (j & 7)) & 1;
  } else if (encoding === 'kept-gaps' || encoding === 'pruned-gaps') {
    const value = encoding === 'kept-gaps' ? 1 : 0;
    if (value === 0) mask.fill(1);
    let pos = -1;
    let i = 0;
    while (i < bytes.length) {
      let g = 0;
      let mul = 1;
      let b: number;
      do {
        if (i >= bytes.length) throw new CompressError('mask varint is truncated');
        b = bytes[i++]!;
        g += (b & 0x7f) * mul;
        mul *= 128;
      } while (b & 0x80);
      pos += g + 1;
      if (pos >= length) throw new CompressError(`mask index ${pos} is outside the ring (${length})`);
      mask[pos] = value;
    }
  } else {
    throw new CompressError(`unknown mask encoding "${String(encoding)}"`);
  }
  if (countKept(mask) !== kept) throw new CompressError(`mask keeps ${countKept(mask)} entries, the header says ${kept}`);
  return mask;
}

/** float32 → IEEE half (round to nearest even; overflow → ±Inf; subnormals kept). */
export function toHalf(values: Float32Array): Uint16Array {
  const f = new Float32Array(1);
  const u = new Uint32Array(f.buffer);
  const out = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) {
    f[0] = values[i]!;
    const x = u[0]!;
    const sign = (x >>> 16) & 0x8000;
    const exp = (x >>> 23) & 0xff;
    let mant = x & 0x7fffff;
    if (exp === 0xff) {
      out[i] = sign | 0x7c00 | (mant ? 0x200 : 0);
      continue;
    }
    const e = exp - 127 + 15;
    if (e >= 0x1f) {
      out[i] = sign | 0x7c00;
      continue;
    }
    if (e <= 0) {
      if (e < -10) {
        out[i] = sign;
        continue;
      }
      mant |= 0x800000;
      const shift = 14 - e;
      let h = mant >>> shift;
      const rem = mant & ((1 << shift) - 1);
      const half = 1 << (shift - 1);
      if (rem > half || (rem === half && h & 1)) h++;
      out[i] = sign | h;
      continue;
    }
    let h = (e << 10) | (mant >>> 13);
    const rem = mant & 0x1fff;
    if (rem > 0x1000 || (rem === 0x1000 && h & 1)) h++;
    out[i] = sign | h; // a carry into the exponent rounds up correctly, up to Inf
  }
  return out;
}

export function fromHalf(halves: Uint16Array): Float32Array {
  const out = new Float32Array(halves.length);
  for (let i = 0; i < halves.length; i++) {
    const h = halves[i]!;
    const sign = h & 0x8000 ? -1 : 1;
    const exp = (h >> 10) & 0x1f;
    const mant = h & 0x3ff;
    out[i] = exp === 0 ? sign * mant * 2 ** -24 : exp === 0x1f ? (mant ? NaN : sign * Infinity) : sign * (1 + mant / 1024) * 2 ** (exp - 15);
  }
  return out;
}
