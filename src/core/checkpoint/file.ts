// Checkpoints: one binary file per run, replaced atomically (temp file, fsync, rename, fsync of
// the folder), so a crash or a stop mid-write leaves either the old or the new checkpoint.
// Layout: "RPGCKPT1" | u32 header length | header JSON | float32 payload (little endian).
// It stores the seed and plan hash, never the index arrays: those are regenerated.
import { readFileSync, unlinkSync, existsSync } from 'node:fs';
import { writeFileAtomic } from '../runs/atomic';
import * as path from 'node:path';
import type { RpgConfig } from '../config/schema';
import { TrainError } from '../errors';

const MAGIC = 'RPGCKPT1';
export const CHECKPOINT_FILE = 'checkpoint.bin';
/** The ring's name among a checkpoint's tensors (Network names its variable so). */
export const RING_TENSOR = 'ring';

export interface TensorEntry {
  readonly name: string;
  readonly shape: readonly number[];
  /** Offset in floats from the start of the payload. */
  readonly offset: number;
  readonly length: number;
}

export interface CheckpointMeta {
  readonly formatVersion: 1;
  readonly step: number;
  /** Epoch in progress and batches of it already consumed (resume point). */
  readonly epoch: number;
  readonly batchInEpoch: number;
  readonly seed: number;
  readonly planHash: string | null;
  readonly planContentHash: string | null;
  readonly ringSize: number;
  readonly backend: string;
  readonly optimizerStep: number;
  readonly bestAcc: number;
  readonly lastAcc: number;
  readonly elapsedSec: number;
  readonly config: RpgConfig;
  readonly savedAt: string;
}

export interface Checkpoint {
  readonly meta: CheckpointMeta;
  readonly tensors: Map<string, { shape: readonly number[]; values: Float32Array }>;
  readonly bytes: number;
}

/** Content checksum of the payload (FNV-1a over 32-bit words). */
function checksum(payload: Float32Array): string {
  const words = new Uint32Array(payload.buffer, payload.byteOffset, payload.length);
  let h = 0x811c9dc5;
  for (let i = 0; i < words.length; i++) h = Math.imul(h ^ words[i]!, 0x01000193);
  return (h >>> 0).toString(16).padStart(8, '0');
}

export function encodeCheckpoint(meta: CheckpointMeta, tensors: Map<string, { shape: readonly number[]; values: Float32Array }>): Buffer {
  const entries: TensorEntry[] = [];
  let offset = 0;
  for (const [name, t] of tensors) {
    entries.push({ name, shape: t.shape, offset, length: t.values.length });
    offset += t.values.length;
  }
  const payload = new Float32Array(offset);
  for (const e of entries) payload.set(tensors.get(e.name)!.values, e.offset);
  const header = Buffer.from(JSON.stringify({ meta, tensors: entries, checksum: checksum(payload) }), 'utf8');
  const head = Buffer.alloc(12);
  head.write(MAGIC, 0, 'ascii');
  head.writeUInt32LE(header.length, 8);
  // Pad the header so the payload starts 4-byte aligned (Float32Array views need it).
  const pad = (4 - ((12 + header.length) % 4)) % 4;
  return Buffer.concat([head, header, Buffer.alloc(pad, 0x20), Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength)]);
}

export function decodeCheckpoint(bytes: Buffer, file: string): Checkpoint {
  const fail = (why: string) => new TrainError('checkpoint', `${file}: ${why}`, undefined, file);
  if (bytes.length < 12 || bytes.toString('ascii', 0, 8) !== MAGIC) throw fail('not an RPG Studio checkpoint (bad magic)');
  const headerLength = bytes.readUInt32LE(8);
  if (12 + headerLength > bytes.length) throw fail('truncated header');
  let header: { meta: CheckpointMeta; tensors: TensorEntry[]; checksum: string };
  try {
    header = JSON.parse(bytes.toString('utf8', 12, 12 + headerLength));
  } catch {
    throw fail('corrupt header');
  }
  if (!header || typeof header !== 'object' || !header.meta || !Array.isArray(header.tensors)) throw fail('corrupt header (no meta or tensor list)');
  const start = 12 + headerLength + ((4 - ((12 + headerLength) % 4)) % 4);
  const floats = header.tensors.reduce((s, t) => s + t.length, 0);
  if (bytes.length !== start + floats * 4) throw fail(`truncated payload (${bytes.length - start} of ${floats * 4} bytes)`);
  const copy = new Uint8Array(floats * 4);
  copy.set(bytes.subarray(start));
  const payload = new Float32Array(copy.buffer);
  if (checksum(payload) !== header.checksum) throw fail('checksum mismatch (the file is corrupt)');
  const tensors = new Map(header.tensors.map((e) => [e.name, { shape: e.shape, values: payload.subarray(e.offset, e.offset + e.length) }]));
  return { meta: header.meta, tensors, bytes: bytes.length };
}

export function writeCheckpoint(runDir: string, meta: CheckpointMeta, tensors: Map<string, { shape: readonly number[]; values: Float32Array }>): { path: string; bytes: number } {
  const file = path.join(runDir, CHECKPOINT_FILE);
  const bytes = encodeCheckpoint(meta, tensors);
  writeFileAtomic(file, bytes);
  return { path: file, bytes: bytes.length };
}

export function readCheckpoint(runDirOrFile: string): Checkpoint {
  const file = runDirOrFile.endsWith('.bin') ? runDirOrFile : path.join(runDirOrFile, CHECKPOINT_FILE);
  if (!existsSync(file)) throw new TrainError('checkpoint', `${file}: no checkpoint found (was the run stopped before its first checkpoint?)`, undefined, file);
  return decodeCheckpoint(readFileSync(file), file);
}

/** Removes temp files a killed writer may have left behind. */
export function removeStaleTemp(runDir: string, pid: number): void {
  const tmp = path.join(runDir, `${CHECKPOINT_FILE}.tmp-${pid}`);
  if (existsSync(tmp)) unlinkSync(tmp);
}
