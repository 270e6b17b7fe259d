// A reader of checkpoint format v2 for tests, until src/ has its own (the lead's checkpoint
// module): magic "RPGCKPT2", u32 header length, header JSON, space padding to a multiple of 4,
// float32 payload, SHA-256 of everything before it. Integrity is checked before parsing.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Checkpoint } from '../../src/train/checkpoint';

export function readCheckpointV2(file: string): Checkpoint & { meta: Record<string, unknown> } {
  const bytes = readFileSync(file);
  if (bytes.length < 44 || bytes.toString('ascii', 0, 8) !== 'RPGCKPT2') throw new Error(`${file}: not a version-2 checkpoint`);
  const body = bytes.subarray(0, bytes.length - 32);
  const digest = createHash('sha256').update(body).digest();
  if (!digest.equals(bytes.subarray(bytes.length - 32))) throw new Error(`${file}: checkpoint is corrupted (SHA-256 mismatch)`);
  const h = bytes.readUInt32LE(8);
  const header = JSON.parse(bytes.toString('utf8', 12, 12 + h)) as { meta: Record<string, unknown>; tensors: { name: string; shape: number[]; offset: number; length: number }[] };
  const start = 12 + h + ((4 - ((12 + h) % 4)) % 4);
  const payload = new Float32Array(Uint8Array.from(body.subarray(start)).buffer);
  const tensors = new Map(header.tensors.map((t) => [t.name, { shape: t.shape, values: payload.subarray(t.offset, t.offset + t.length) }]));
  return { meta: header.meta as never, tensors, bytes: bytes.length };
}
