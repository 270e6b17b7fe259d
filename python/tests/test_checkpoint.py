"""checkpoint.bin v2: layout, integrity checked before parsing, atomic replacement; v1 readable."""
import hashlib
import json
import os
import struct
import tempfile
import unittest

import _helpers  # noqa: F401
import torch

from rpg_torch.checkpoint import CheckpointError, decode_checkpoint, encode_checkpoint, read_checkpoint, restore_tensors, write_checkpoint


class V2(unittest.TestCase):
    def setUp(self):
        self.tensors = [("ring", torch.randn(7)), ("conv1.bias", torch.zeros(3)), ("fc.kernel", torch.randn(2, 5)), ("ring/m", torch.ones(7))]
        self.meta = {"formatVersion": 2, "engine": "torch", "step": 12, "config": {"seed": 1}}

    def test_layout(self):
        data = encode_checkpoint(self.meta, self.tensors)
        self.assertEqual(data[:8], b"RPGCKPT2")
        h = struct.unpack("<I", data[8:12])[0]
        header = json.loads(data[12:12 + h])
        start = 12 + h
        while start % 4:
            self.assertEqual(data[start:start + 1], b" ")
            start += 1
        self.assertEqual([t["name"] for t in header["tensors"]], ["ring", "conv1.bias", "fc.kernel", "ring/m"])
        self.assertEqual(header["tensors"][2], {"name": "fc.kernel", "shape": [2, 5], "offset": 10, "length": 10})
        self.assertEqual(len(data) - 32 - start, 4 * (7 + 3 + 10 + 7))
        self.assertEqual(hashlib.sha256(data[:-32]).digest(), data[-32:])
        payload = data[start:-32]
        self.assertEqual(struct.unpack("<7f", payload[:28]), tuple(float(v) for v in self.tensors[0][1]))

    def test_round_trip_and_restore(self):
        with tempfile.TemporaryDirectory() as d:
            path, n = write_checkpoint(d, self.meta, self.tensors)
            self.assertEqual(os.path.getsize(path), n)
            self.assertEqual(os.listdir(d), ["checkpoint.bin"])  # no temp file left
            ck = read_checkpoint(d)
            self.assertEqual(ck.meta, self.meta)
            targets = [(name, torch.empty_like(t)) for name, t in self.tensors]
            restore_tensors(targets, ck, path)
            for (_, a), (_, b) in zip(targets, self.tensors):
                self.assertTrue(torch.equal(a, b))
            with self.assertRaises(CheckpointError) as cm:
                restore_tensors([("ring", torch.empty(8))], ck, path)
            self.assertIn('tensor "ring" has shape 7, the model needs 8', str(cm.exception))

    def test_any_flipped_byte_or_truncation_is_corruption(self):
        data = encode_checkpoint(self.meta, self.tensors)
        for at in (3, 10, 20, len(data) // 2, len(data) - 40, len(data) - 1):
            bad = bytearray(data)
            bad[at] ^= 0x01
            with self.assertRaises(CheckpointError) as cm:
                decode_checkpoint(bytes(bad), "c.bin")
            self.assertRegex(str(cm.exception), r"c\.bin: (checkpoint is corrupted|not an RPG Studio checkpoint)")
        with self.assertRaises(CheckpointError) as cm:
            decode_checkpoint(data[:-5], "c.bin")
        self.assertIn("checkpoint is corrupted", str(cm.exception))


class V1(unittest.TestCase):
    def test_version_1_files_stay_readable(self):
        values = [1.5, -2.0, 0.25]
        payload = struct.pack("<3f", *values)
        h = 0x811C9DC5
        for (w,) in struct.iter_unpack("<I", payload):
            h = ((h ^ w) * 0x01000193) & 0xFFFFFFFF
        header = json.dumps({"meta": {"formatVersion": 1, "step": 4}, "tensors": [{"name": "ring", "shape": [3], "offset": 0, "length": 3}],
                             "checksum": f"{h:08x}"}).encode()
        pad = (4 - (12 + len(header)) % 4) % 4
        data = b"RPGCKPT1" + struct.pack("<I", len(header)) + header + b" " * pad + payload
        ck = decode_checkpoint(data, "old.bin")
        self.assertEqual(ck.version, 1)
        self.assertEqual(ck.tensors["ring"][1].tolist(), values)
        bad = bytearray(data)
        bad[-1] ^= 0x40
        with self.assertRaises(CheckpointError):
            decode_checkpoint(bytes(bad), "old.bin")


if __name__ == "__main__":
    unittest.main()
