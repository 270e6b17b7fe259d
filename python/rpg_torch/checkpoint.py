"""checkpoint.bin, format v2 (read and written) and v1 (read), shared with the TypeScript engine.

v2 layout:
  [0, 8)        "RPGCKPT2"
  [8, 12)       u32 LE H = byte length of the header JSON
  [12, 12+H)    header JSON {"meta": {...}, "tensors": [{"name","shape","offset","length"}]}
                (offset/length in float32 elements from the payload start)
  pad           spaces, so the payload starts at a multiple of 4
  payload       float32 LE, tensors back to back in header order
  [end-32, end) SHA-256 over every byte before it
Readers check the length and the SHA-256 before parsing anything. v1 ("RPGCKPT1") has no
trailing hash; its header holds an FNV-1a checksum of the payload words.
The file is replaced atomically: temp file in the same folder, full write with its byte count
checked, fsync, rename, fsync of the folder.
"""
from __future__ import annotations

import hashlib
import json
import os
import struct
from dataclasses import dataclass
from typing import Any, Dict, List, Sequence, Tuple

import torch

from .jsonc import js_stringify
from .plan import tensor_bytes

MAGIC_V2 = b"RPGCKPT2"
MAGIC_V1 = b"RPGCKPT1"
CHECKPOINT_FILE = "checkpoint.bin"


class CheckpointError(Exception):
    def __init__(self, file: str, why: str) -> None:
        super().__init__(f"{file}: {why}")
        self.file = file


@dataclass
class Checkpoint:
    meta: Dict[str, Any]
    tensors: Dict[str, Tuple[List[int], torch.Tensor]]  # name → (shape, float32 flat)
    bytes: int
    version: int


def encode_checkpoint(meta: Dict[str, Any], tensors: Sequence[Tuple[str, torch.Tensor]]) -> bytes:
    entries = []
    chunks = []
    offset = 0
    for name, t in tensors:
        t = t.detach().to("cpu", torch.float32).contiguous()
        n = t.numel()
        entries.append({"name": name, "shape": list(t.shape), "offset": offset, "length": n})
        chunks.append(tensor_bytes(t))
        offset += n
    header = js_stringify({"meta": meta, "tensors": entries}).encode("utf-8")
    head = MAGIC_V2 + struct.pack("<I", len(header))
    pad = (4 - ((12 + len(header)) % 4)) % 4
    body = b"".join([head, header, b" " * pad] + chunks)
    return body + hashlib.sha256(body).digest()


def write_file_atomic(file: str, data: bytes) -> None:
    tmp = f"{file}.tmp-{os.getpid()}"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        view = memoryview(data)
        written = 0
        while written < len(data):
            n = os.write(fd, view[written:])
            if n <= 0:
                raise OSError(f"short write to {tmp}")
            written += n
        if written != len(data):
            raise OSError(f"wrote {written} of {len(data)} bytes to {tmp}")
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    os.close(fd)
    os.replace(tmp, file)
    try:
        dfd = os.open(os.path.dirname(os.path.abspath(file)), os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
    except OSError:
        pass  # some filesystems refuse fsync on folders; the rename is still atomic


def write_checkpoint(run_dir: str, meta: Dict[str, Any], tensors: Sequence[Tuple[str, torch.Tensor]]) -> Tuple[str, int]:
    file = os.path.join(run_dir, CHECKPOINT_FILE)
    data = encode_checkpoint(meta, tensors)
    write_file_atomic(file, data)
    return file, len(data)


def _fnv_words(payload: bytes) -> str:
    h = 0x811C9DC5
    for (w,) in struct.iter_unpack("<I", payload):
        h = ((h ^ w) * 0x01000193) & 0xFFFFFFFF
    return f"{h:08x}"


def decode_checkpoint(data: bytes, file: str) -> Checkpoint:
    def fail(why: str) -> CheckpointError:
        return CheckpointError(file, why)

    magic = data[:8]
    if magic == MAGIC_V2:
        if len(data) < 12 + 32:
            raise fail("checkpoint is corrupted (shorter than its fixed fields)")
        body, digest = data[:-32], data[-32:]
        if hashlib.sha256(body).digest() != digest:
            raise fail("checkpoint is corrupted (SHA-256 mismatch)")
        h = struct.unpack("<I", data[8:12])[0]
        if 12 + h > len(body):
            raise fail("checkpoint is corrupted (truncated header)")
        start = 12 + h + (4 - ((12 + h) % 4)) % 4
        payload_end = len(body)
        version = 2
    elif magic == MAGIC_V1:
        if len(data) < 12:
            raise fail("not an RPG Studio checkpoint (truncated)")
        h = struct.unpack("<I", data[8:12])[0]
        if 12 + h > len(data):
            raise fail("truncated header")
        start = 12 + h + (4 - ((12 + h) % 4)) % 4
        payload_end = len(data)
        version = 1
    else:
        raise fail("not an RPG Studio checkpoint (bad magic)")
    try:
        header = json.loads(data[12:12 + h].decode("utf-8"))
    except (ValueError, UnicodeDecodeError):
        raise fail("corrupt header") from None
    if not isinstance(header, dict) or not isinstance(header.get("meta"), dict) or not isinstance(header.get("tensors"), list):
        raise fail("corrupt header (no meta or tensor list)")
    floats = sum(int(t["length"]) for t in header["tensors"])
    if payload_end - start != floats * 4:
        raise fail(f"truncated payload ({payload_end - start} of {floats * 4} bytes)")
    payload = data[start:payload_end]
    if version == 1 and _fnv_words(payload) != header.get("checksum"):
        raise fail("checksum mismatch (the file is corrupt)")
    flat = torch.frombuffer(bytearray(payload), dtype=torch.float32) if floats else torch.zeros(0)
    tensors = {}
    for e in header["tensors"]:
        o, n = int(e["offset"]), int(e["length"])
        tensors[e["name"]] = ([int(x) for x in e["shape"]], flat[o:o + n])
    return Checkpoint(header["meta"], tensors, len(data), version)


def read_checkpoint(run_dir_or_file: str) -> Checkpoint:
    file = run_dir_or_file if run_dir_or_file.endswith(".bin") else os.path.join(run_dir_or_file, CHECKPOINT_FILE)
    if not os.path.isfile(file):
        raise CheckpointError(file, "no checkpoint found (was the run stopped before its first checkpoint?)")
    with open(file, "rb") as f:
        return decode_checkpoint(f.read(), file)


def restore_tensors(targets: Sequence[Tuple[str, torch.Tensor]], ckpt: Checkpoint, file: str) -> None:
    """Copies checkpoint tensors into matching tensors; every name and shape must match."""
    for name, t in targets:
        if name not in ckpt.tensors:
            raise CheckpointError(file, f'has no tensor "{name}" (was it written by another model?)')
        shape, values = ckpt.tensors[name]
        if list(shape) != list(t.shape):
            raise CheckpointError(file, f'tensor "{name}" has shape {"×".join(map(str, shape))}, the model needs {"×".join(map(str, t.shape))}')
        with torch.no_grad():
            t.copy_(values.reshape(shape).to(t.device))
