// Checkpoints: one binary file per run, replaced atomically (runs/atomic.ts), so a crash, a
// stop or a full disk mid-write leaves the previous checkpoint whole. Both engines write and
// read this format (python/rpg_torch/checkpoint.py mirrors it). It stores the seed and plan
// hashes, never the index arrays: those are regenerated from (config, seed).
//
// Format 2 (docs/checkpoint-format.md):
//   "RPGCKPT2" | u32 LE header length H | header JSON (H bytes) | spaces to a 4-byte boundary |
//   float32 LE payload | SHA-256 of every byte before it (32 bytes)
// The digest is verified before anything is parsed: one flipped byte anywhere is "corrupted",
// never a config error or a silently wrong model. Format 1 ("RPGCKPT1", checksum over the
// payload only) is still read.
import { createHash } from 'node:crypto';
import { existsSync, statSync } from 'node:fs';
import * as path from 'node:path';
import type { RpgConfig } from '../config/schema';
import { TrainError } from '../errors';
import { readBoundedFile, UnreadableFileError } from '../files';
import { CHECKPOINT_FILE } from '../runs/layout';
import { writeFileAtomic } from '../runs/atomic';

export { CHECKPOINT_FILE } from '../runs/layout';

const MAGIC_V1 = 'RPGCKPT1';
const MAGIC_V2 = 'RPGCKPT2';
const DIGEST_BYTES = 32;
export const CHECKPOINT_FORMAT_VERSION = 2;
/** The ring's name among a checkpoint's tensors (both engines name their ring so). */
export const RING_TENSOR = 'ring';
/** Larger files are refused before they are read: no real model comes near it. */
const MAX_CHECKPOINT_BYTES = 8 * 1024 ** 3;

export interface TensorEntry {
  readonly name: string;
  readonly shape: readonly number[];
  /** Offset in floats from the start of the payload. */
  readonly offset: number;
  readonly length: number;
}

export interface CheckpointMeta {
  readonly formatVersion: 1 | 2;
  /** Which engine wrote it ("tfjs" when absent: format 1 had one engine). */
  readonly engine?: string;
  readonly step: number;
  /** Epoch in progress and batches of it already consumed (resume point). */
  readonly epoch: number;
  readonly batchInEpoch: number;
  readonly seed: number;
  readonly planHash: string | null;
  /** Hash of the index and sign arrays (materialize.ts contentHash). */
  readonly planContentHash: string | null;
  /** sha256 of indices, signs and scales: equal in both engines for one plan (materialize.ts). */
  readonly materializedHash?: string | null;
  readonly ringSize: number;
  readonly backend: string;
  readonly device?: string;
  readonly optimizerStep: number;
  readonly bestAcc: number;
  readonly lastAcc: number;
  readonly elapsedSec: number;
  readonly config: RpgConfig;
  readonly savedAt: string;
}

export type TensorValues = { readonly shape: readonly number[]; readonly values: Float32Array };

export interface Checkpoint {
  readonly meta: CheckpointMeta;
  readonly tensors: Map<string, TensorValues>;
  readonly bytes: number;
}

/** A checkpoint that cannot be used: `checkpoint X is corrupted (...)` and friends. */
export function checkpointError(file: string, why: string): TrainError {
  return new TrainError('checkpoint', `checkpoint ${file} ${why}`, undefined, file);
}

export function encodeCheckpoint(meta: CheckpointMeta, tensors: Map<string, TensorValues>): Buffer {
  const entries: TensorEntry[] = [];
  let offset = 0;
  for (const [name, t] of tensors) {
    entries.push({ name, shape: [...t.shape], offset, length: t.values.length });
    offset += t.values.length;
  }
  const header = Buffer.from(JSON.stringify({ meta: { ...meta, formatVersion: CHECKPOINT_FORMAT_VERSION }, tensors: entries }), 'utf8');
  const head = Buffer.alloc(12);
  head.write(MAGIC_V2, 0, 'ascii');
  head.writeUInt32LE(header.length, 8);
  // Pad the header so the payload starts 4-byte aligned (Float32Array views need it).
  const pad = Buffer.alloc((4 - ((12 + header.length) % 4)) % 4, 0x20);
  const payload = Buffer.alloc(offset * 4);
  for (const e of entries) {
    const v = tensors.get(e.name)!.values;
    Buffer.from(v.buffer, v.byteOffset, v.byteLength).copy(payload, e.offset * 4);
  }
  const body = Buffer.concat([head, header, pad, payload]);
  return Buffer.concat([body, createHash('sha256').update(body).digest()]);
}

export function decodeCheckpoint(bytes: Buffer, file: string): Checkpoint {
  const magic = bytes.length >= 8 ? bytes.toString('ascii', 0, 8) : '';
  if (magic === MAGIC_V1) return decodeV1(bytes, file);
  if (magic !== MAGIC_V2) throw checkpointError(file, bytes.length < 8 ? `is corrupted (only ${bytes.length} bytes)` : 'is not an RPG Studio checkpoint (unknown format)');
  if (bytes.length < 12 + DIGEST_BYTES) throw checkpointError(file, `is corrupted (truncated: ${bytes.length} bytes)`);
  const bodyEnd = bytes.length - DIGEST_BYTES;
  const digest = createHash('sha256').update(bytes.subarray(0, bodyEnd)).digest();
  if (!digest.equals(bytes.subarray(bodyEnd))) throw checkpointError(file, 'is corrupted (its SHA-256 does not match: the file was truncated or changed after it was written)');
  // The digest matched: what follows was written by a checkpoint writer, so a malformed header
  // means a writer of another version or a bug, not damage.
  const headerLength = bytes.readUInt32LE(8);
  if (12 + headerLength > bodyEnd) throw checkpointError(file, 'is not a valid checkpoint (its header runs past the end)');
  let header: unknown;
  try {
    header = JSON.parse(bytes.toString('utf8', 12, 12 + headerLength));
  } catch {
    throw checkpointError(file, 'is not a valid checkpoint (its header is not JSON)');
  }
  const start = 12 + headerLength + ((4 - ((12 + headerLength) % 4)) % 4);
  const { meta, entries } = checkHeader(header, file, (bodyEnd - start) / 4);
  const payload = new Float32Array(bytes.buffer.slice(bytes.byteOffset + start, bytes.byteOffset + bodyEnd));
  return { meta, tensors: tensorsOf(entries, payload), bytes: bytes.length };
}

/** Format 1: checksum (FNV-1a over 32-bit words) of the payload only, header unchecked. */
function decodeV1(bytes: Buffer, file: string): Checkpoint {
  if (bytes.length < 12) throw checkpointError(file, 'is corrupted (truncated header)');
  const headerLength = bytes.readUInt32LE(8);
  if (12 + headerLength > bytes.length) throw checkpointError(file, 'is corrupted (truncated header)');
  let header: { checksum?: unknown };
  try {
    header = JSON.parse(bytes.toString('utf8', 12, 12 + headerLength));
  } catch {
    throw checkpointError(file, 'is corrupted (its header is not JSON)');
  }
  const start = 12 + headerLength + ((4 - ((12 + headerLength) % 4)) % 4);
  if ((bytes.length - start) % 4 !== 0 || bytes.length < start) throw checkpointError(file, 'is corrupted (truncated payload)');
  const { meta, entries } = checkHeader(header, file, (bytes.length - start) / 4);
  const payload = new Float32Array(bytes.buffer.slice(bytes.byteOffset + start, bytes.byteOffset + bytes.length));
  if (fnv1a(payload) !== header.checksum) throw checkpointError(file, 'is corrupted (payload checksum mismatch)');
  return { meta, tensors: tensorsOf(entries, payload), bytes: bytes.length };
}

function fnv1a(payload: Float32Array): string {
  const words = new Uint32Array(payload.buffer, payload.byteOffset, payload.length);
  let h = 0x811c9dc5;
  for (let i = 0; i < words.length; i++) h = Math.imul(h ^ words[i]!, 0x01000193);
  return (h >>> 0).toString(16).padStart(8, '0');
}

/** The header's shape checked field by field; the tensor table must tile the payload exactly. */
function checkHeader(header: unknown, file: string, payloadFloats: number): { meta: CheckpointMeta; entries: TensorEntry[] } {
  const bad = (why: string) => checkpointError(file, `is not a valid checkpoint (${why})`);
  if (!isObject(header) || !isObject(header.meta) || !Array.isArray(header.tensors)) throw bad('no meta or tensor list');
  const meta = header.meta;
  for (const key of ['step', 'epoch', 'batchInEpoch', 'seed', 'ringSize', 'optimizerStep', 'bestAcc', 'lastAcc', 'elapsedSec'] as const) {
    if (typeof meta[key] !== 'number' || !Number.isFinite(meta[key])) throw bad(`meta.${key} is not a number`);
  }
  if (!isObject(meta.config)) throw bad('meta.config is missing');
  if (meta.planHash !== null && typeof meta.planHash !== 'string') throw bad('meta.planHash is not a string');
  let expected = 0;
  const entries: TensorEntry[] = [];
  for (const e of header.tensors as unknown[]) {
    if (!isObject(e) || typeof e.name !== 'string' || !Array.isArray(e.shape) || !e.shape.every((d) => Number.isInteger(d) && (d as number) >= 0)) throw bad('a tensor entry is malformed');
    const length = (e.shape as number[]).reduce((a, b) => a * b, 1);
    if (e.offset !== expected || e.length !== length) throw bad(`tensor "${e.name}" does not follow the one before it`);
    entries.push({ name: e.name, shape: e.shape as number[], offset: expected, length });
    expected += length;
  }
  if (expected !== payloadFloats) throw bad(`the tensors hold ${expected} floats, the payload ${payloadFloats}`);
  return { meta: meta as unknown as CheckpointMeta, entries };
}

function tensorsOf(entries: TensorEntry[], payload: Float32Array): Map<string, TensorValues> {
  return new Map(entries.map((e) => [e.name, { shape: e.shape, values: payload.subarray(e.offset, e.offset + e.length) }]));
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function writeCheckpoint(runDir: string, meta: CheckpointMeta, tensors: Map<string, TensorValues>): { path: string; bytes: number } {
  const file = path.join(runDir, CHECKPOINT_FILE);
  const bytes = encodeCheckpoint(meta, tensors);
  writeFileAtomic(file, bytes);
  return { path: file, bytes: bytes.length };
}

/** A run folder's checkpoint file. */
export function runCheckpointFile(runDir: string): string {
  return path.join(runDir, CHECKPOINT_FILE);
}

/** `runDirOrFile`'s checkpoint, verified; throws a TrainError('checkpoint') naming the file. */
export function readCheckpoint(runDirOrFile: string): Checkpoint {
  const file = checkpointPathOf(runDirOrFile);
  if (!existsSync(file)) throw new TrainError('checkpoint', `${file}: no checkpoint found (was the run stopped before its first checkpoint?)`, undefined, file);
  let bytes: Buffer;
  try {
    bytes = readBoundedFile(file, MAX_CHECKPOINT_BYTES);
  } catch (err) {
    if (err instanceof UnreadableFileError) throw checkpointError(file, `cannot be read: it ${err.reason}`);
    throw err;
  }
  return decodeCheckpoint(bytes, file);
}

/** A run folder's checkpoint file, or the file itself when given one. */
export function checkpointPathOf(runDirOrFile: string): string {
  try {
    if (statSync(runDirOrFile).isDirectory()) return path.join(runDirOrFile, CHECKPOINT_FILE);
  } catch {
    // Not there: report it under the name the caller gave.
  }
  return runDirOrFile.endsWith('.bin') ? runDirOrFile : path.join(runDirOrFile, CHECKPOINT_FILE);
}

/**
 * Refuses a checkpoint written for another plan than the one (config, seed) regenerates now:
 * its ring would be read through other indices and signs and evaluate to a silently wrong
 * number. `plan` is undefined for the plain model.
 */
export function checkCheckpointPlan(file: string, meta: CheckpointMeta, plan: { hash: string; contentHash: string; ringSize: number } | undefined): void {
  const expected = plan?.hash ?? null;
  if (meta.planHash !== expected) {
    throw checkpointError(file, `was written for a different plan (${meta.planHash === null ? 'the plain model' : `plan ${meta.planHash}`}; the config and seed now give ${expected === null ? 'the plain model' : `plan ${expected}`})`);
  }
  if (plan && meta.planContentHash !== null && meta.planContentHash !== undefined && meta.planContentHash !== plan.contentHash) {
    throw checkpointError(file, `was written for a different plan (its index and sign arrays ${meta.planContentHash} differ from ${plan.contentHash}: written by another version of the plan algorithm?)`);
  }
  if (plan && meta.ringSize !== plan.ringSize) throw checkpointError(file, `was written for a different plan (a ring of ${meta.ringSize} entries; the plan has ${plan.ringSize})`);
}
