// The .rpgz compact export: everything needed to regenerate a compressed RPG model bit-exactly,
// in one small file. Layout (little endian):
//   "RPGZ" | u8 format version (1) | 3 reserved bytes | u32 header length |
//   header: raw-deflated JSON (config, seed, plan hashes, quantization settings, section table) |
//   sections, concatenated: mask (encoded), scales (float32 per block), codes (bit-packed kept
//   entries), free parameters and BatchNorm running statistics (float32 or float16) |
//   u32 CRC-32 of every byte before it.
// The index/sign arrays are never stored: they are regenerated from (config, seed) and checked
// against the plan hashes, as checkpoints do.
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import type { RpgConfig } from '../config/schema';
import { CompressError, decodeMask, dequantize, encodeMask, fromHalf, MaskEncoding, packCodes, toHalf, unpackCodes, countKept } from './quantize';

const MAGIC = 'RPGZ';
export const RPGZ_VERSION = 1;

export interface RpgzTensor {
  readonly name: string;
  readonly shape: readonly number[];
  readonly values: Float32Array;
}

/** What identifies the model a .rpgz regenerates, and how its ring is quantized (header and artifact alike). */
interface RpgzIdentity {
  readonly config: RpgConfig;
  readonly seed: number;
  readonly planHash: string;
  readonly planContentHash: string;
  readonly ringSize: number;
  readonly bits: number;
  readonly block: number;
  /** 32 or 16: how the free parameters and BN statistics are stored. */
  readonly freeBits: 16 | 32;
  /** Informational: where it came from and how it scored. */
  readonly info?: Record<string, unknown>;
}

/** What a .rpgz holds, decoded. */
export interface RpgzArtifact extends RpgzIdentity {
  readonly mask: Uint8Array;
  readonly scales: Float32Array;
  readonly codes: Int8Array;
  /** Free parameters and BN running statistics, by checkpoint name (ring excluded). */
  readonly tensors: readonly RpgzTensor[];
}

interface Header extends RpgzIdentity {
  readonly format: 'rpgz';
  readonly formatVersion: number;
  readonly kept: number;
  readonly maskEncoding: MaskEncoding;
  readonly tensors: { name: string; shape: number[]; length: number }[];
  readonly sections: { mask: number; scales: number; codes: number; free: number };
}

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** CRC-32 (IEEE 802.3, as zip and PNG). */
export function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) c = CRC_TABLE[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

export interface EncodedSizes {
  readonly total: number;
  readonly header: number;
  readonly mask: number;
  readonly scales: number;
  readonly codes: number;
  readonly free: number;
}

export function encodeRpgz(a: RpgzArtifact): { bytes: Buffer; sizes: EncodedSizes } {
  const { encoding, bytes: maskBytes } = encodeMask(a.mask);
  const codes = packCodes(a.codes, a.mask, a.bits);
  const scales = Buffer.from(new Float32Array(a.scales).buffer);
  const freeCount = a.tensors.reduce((s, t) => s + t.values.length, 0);
  const flat = new Float32Array(freeCount);
  let off = 0;
  for (const t of a.tensors) {
    flat.set(t.values, off);
    off += t.values.length;
  }
  const free = a.freeBits === 16 ? Buffer.from(toHalf(flat).buffer) : Buffer.from(flat.buffer);
  const header: Header = {
    format: 'rpgz', formatVersion: RPGZ_VERSION, config: a.config, seed: a.seed, planHash: a.planHash, planContentHash: a.planContentHash, ringSize: a.ringSize,
    bits: a.bits, block: a.block, kept: countKept(a.mask), maskEncoding: encoding, freeBits: a.freeBits,
    tensors: a.tensors.map((t) => ({ name: t.name, shape: [...t.shape], length: t.values.length })),
    sections: { mask: maskBytes.length, scales: scales.length, codes: codes.length, free: free.length },
    ...(a.info ? { info: a.info } : {}),
  };
  const headerBytes = deflateRawSync(Buffer.from(JSON.stringify(header), 'utf8'), { level: 9 });
  const head = Buffer.alloc(12);
  head.write(MAGIC, 0, 'ascii');
  head.writeUInt8(RPGZ_VERSION, 4);
  head.writeUInt32LE(headerBytes.length, 8);
  const body = Buffer.concat([head, headerBytes, Buffer.from(maskBytes), scales, Buffer.from(codes), free]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32LE(crc32(body), 0);
  const bytes = Buffer.concat([body, crc]);
  return { bytes, sizes: { total: bytes.length, header: 12 + headerBytes.length + 4, mask: maskBytes.length, scales: scales.length, codes: codes.length, free: free.length } };
}

export function decodeRpgz(bytes: Uint8Array, file = 'the .rpgz file'): RpgzArtifact & { sizes: EncodedSizes } {
  const fail = (why: string) => new CompressError(`${file}: ${why}`);
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buf.length < 16 || buf.toString('ascii', 0, 4) !== MAGIC) throw fail('not an RPG Studio compressed model (bad magic; expected a .rpgz written by `rpg compress`)');
  // The CRC covers every byte before it and sits at the very end: check it before anything
  // else is read, so a damaged header is "corrupted", never a parse error or a wrong model.
  const bodyEnd = buf.length - 4;
  const stored = buf.readUInt32LE(bodyEnd);
  const actual = crc32(buf.subarray(0, bodyEnd));
  if (stored !== actual) throw fail(`is corrupted (checksum mismatch: stored ${stored.toString(16).padStart(8, '0')}, computed ${actual.toString(16).padStart(8, '0')}; the file was truncated or changed after it was written)`);
  const version = buf.readUInt8(4);
  if (version !== RPGZ_VERSION) throw fail(`format version ${version} is not supported (this build reads version ${RPGZ_VERSION})`);
  const headerLength = buf.readUInt32LE(8);
  if (12 + headerLength > bodyEnd) throw fail(`is not a valid .rpgz (its header needs ${headerLength} bytes, the file has ${buf.length})`);
  let header: Header;
  try {
    header = JSON.parse(inflateRawSync(buf.subarray(12, 12 + headerLength)).toString('utf8')) as Header;
  } catch {
    throw fail('is not a valid .rpgz (its header does not decompress to JSON)');
  }
  const s = header?.sections;
  const sizes = s ? [s.mask, s.scales, s.codes, s.free] : [];
  if (!s || !sizes.every((n) => Number.isInteger(n) && n >= 0) || !Array.isArray(header.tensors) || !Number.isInteger(header.ringSize) || !(header.block >= 1) || !Number.isInteger(header.bits)) {
    throw fail('is not a valid .rpgz (its header lacks the section table or quantization settings)');
  }
  const bodyLength = 12 + headerLength + s.mask + s.scales + s.codes + s.free;
  if (bodyLength !== bodyEnd) throw fail(`is not a valid .rpgz (its sections add up to ${bodyLength + 4} bytes, the file has ${buf.length})`);
  let pos = 12 + headerLength;
  const take = (n: number) => {
    const out = new Uint8Array(n);
    out.set(buf.subarray(pos, pos + n));
    pos += n;
    return out;
  };
  const mask = decodeMask(header.maskEncoding, take(s.mask), header.ringSize, header.kept);
  const scales = new Float32Array(take(s.scales).buffer);
  if (scales.length !== Math.ceil(header.ringSize / header.block)) throw fail(`holds ${scales.length} scales, ${Math.ceil(header.ringSize / header.block)} expected`);
  const codes = unpackCodes(take(s.codes), mask, header.bits);
  const freeRaw = take(s.free);
  const count = header.tensors.reduce((n, t) => n + t.length, 0);
  if (freeRaw.length !== count * (header.freeBits / 8)) throw fail(`free-parameter section holds ${freeRaw.length} bytes, ${count * (header.freeBits / 8)} expected`);
  const flat = header.freeBits === 16 ? fromHalf(new Uint16Array(freeRaw.buffer)) : new Float32Array(freeRaw.buffer);
  let off = 0;
  const tensors = header.tensors.map((t) => {
    const values = flat.slice(off, off + t.length);
    off += t.length;
    return { name: t.name, shape: t.shape, values };
  });
  return {
    config: header.config, seed: header.seed, planHash: header.planHash, planContentHash: header.planContentHash, ringSize: header.ringSize, bits: header.bits, block: header.block,
    mask, scales, codes, freeBits: header.freeBits, tensors, ...(header.info ? { info: header.info } : {}),
    sizes: { total: buf.length, header: 12 + headerLength + 4, mask: s.mask, scales: s.scales, codes: s.codes, free: s.free },
  };
}

/** The ring a decoded artifact runs with. */
export function artifactRing(a: Pick<RpgzArtifact, 'block' | 'scales' | 'codes'>): Float32Array {
  return dequantize(a);
}
