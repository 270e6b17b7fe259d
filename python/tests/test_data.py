"""Datasets and batches: the fixed embedded split, IDX (raw and gzip), CIFAR records, and batch
order/augmentation as pure functions of (seed, epoch, batch)."""
import gzip
import os
import struct
import tempfile
import unittest

import _helpers
import torch

from rpg_torch.data import DatasetError, batches, can_augment, load_dataset, load_embedded_mnist, order_seed
from rpg_torch.prng import Rng


@unittest.skipUnless(_helpers.HAVE_DIGITS, _helpers.NO_DIGITS)
class Embedded(unittest.TestCase):
    def test_split_sizes_and_labels(self):
        train, test = load_embedded_mnist(_helpers.MNIST_DIGITS)
        self.assertEqual((train.count, test.count), (8000, 2000))
        counts = torch.bincount(torch.cat([train.labels, test.labels]), minlength=10).tolist()
        self.assertEqual(counts, [1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978])
        self.assertEqual(train.pixels.dtype, torch.uint8)
        self.assertEqual(tuple(train.pixels.shape[1:]), (28, 28, 1))

    def test_batches_are_a_pure_function_of_seed_epoch_and_batch(self):
        ds = load_dataset({"dataset": "mnist-embedded", "trainSize": 300, "augment": False}, ".", _helpers.MNIST_DIGITS)
        a = list(batches(ds, "train", 64, 5, 2))
        b = list(batches(ds, "train", 64, 5, 2, start_batch=3))
        self.assertEqual(len(a), 5)
        self.assertEqual(a[-1].size, 300 - 4 * 64)
        self.assertTrue(torch.equal(a[3].x, b[0].x) and torch.equal(a[4].y, b[1].y))
        c = next(batches(ds, "train", 64, 5, 3))
        self.assertFalse(torch.equal(a[0].y, c.y))
        # The order is the epoch permutation of the TypeScript engine.
        perm = Rng(order_seed(5, 2), "data-order").permutation(300)
        self.assertTrue(torch.equal(a[0].y, ds.train.labels[perm[:64]]))


class Idx(unittest.TestCase):
    def write(self, d, name, magic, dims, payload, gz=False):
        raw = struct.pack(">I", magic) + b"".join(struct.pack(">I", x) for x in dims) + payload
        with open(os.path.join(d, name + (".gz" if gz else "")), "wb") as f:
            f.write(gzip.compress(raw) if gz else raw)

    def test_raw_and_gzip_and_errors(self):
        with tempfile.TemporaryDirectory() as d:
            px = bytes(range(256)) * 2 + bytes(16 * 4 - 512 % 64)
            n = 10
            imgs = bytes((i * 7) % 256 for i in range(n * 16))
            self.write(d, "train-images-idx3-ubyte", 2051, (n, 4, 4), imgs, gz=True)
            self.write(d, "train-labels-idx1-ubyte", 2049, (n,), bytes(i % 10 for i in range(n)))
            self.write(d, "t10k-images-idx3-ubyte", 2051, (2, 4, 4), imgs[:32])
            self.write(d, "t10k-labels-idx1-ubyte", 2049, (2,), bytes([3, 4]), gz=True)
            ds = load_dataset({"dataset": "mnist", "path": d, "augment": False}, "/")
            self.assertEqual((ds.height, ds.width, ds.train.count, ds.test.count), (4, 4, 10, 2))
            self.assertEqual(ds.train.pixels.reshape(-1).tolist(), list(imgs))
            self.write(d, "t10k-labels-idx1-ubyte", 2049, (3,), bytes([3, 4]), gz=True)
            with self.assertRaises(DatasetError) as cm:
                load_dataset({"dataset": "mnist", "path": d}, "/")
            self.assertIn("truncated: the header announces 3 labels (11 bytes) but the file has 10 bytes", str(cm.exception))

    def test_missing_folder(self):
        with self.assertRaises(DatasetError) as cm:
            load_dataset({"dataset": "fashion-mnist", "path": "/nonexistent/fm"}, "/")
        self.assertEqual(str(cm.exception), "/nonexistent/fm: folder not found")


class Cifar(unittest.TestCase):
    def test_records_augmentation_and_padding(self):
        with tempfile.TemporaryDirectory() as d:
            rng = Rng(1, "cifar-test")
            def records(n):
                out = bytearray()
                for _ in range(n):
                    out.append(rng.next_int(10))
                    out.extend(rng.next_int(256) for _ in range(3072))
                return bytes(out)
            for i in range(1, 6):
                with open(os.path.join(d, f"data_batch_{i}.bin"), "wb") as f:
                    f.write(records(4))
            with open(os.path.join(d, "test_batch.bin"), "wb") as f:
                f.write(records(3))
            ds = load_dataset({"dataset": "cifar10", "path": d, "augment": True}, "/")
            self.assertEqual((ds.train.count, ds.test.count, ds.channels), (20, 3, 3))
            self.assertTrue(can_augment(ds))
            plain = next(batches(ds, "train", 8, 3, 0, True, False))
            aug = next(batches(ds, "train", 8, 3, 0, True, True))
            self.assertTrue(torch.equal(plain.y, aug.y))
            self.assertFalse(torch.equal(plain.x, aug.x))
            # Output pixel (r, q) reads the source at (r + dy, (31 − q if flipped else q) + dx),
            # black outside: the draws of batch 0 in the order dy, dx, flip (batches.ts).
            black = ds.table()[:, 0]
            rng = Rng(order_seed(3, 0), "augment/0")
            for i in range(8):
                dy, dx = rng.next_int(9) - 4, rng.next_int(9) - 4
                flip = rng.next_uint32() & 1
                for r in (0, 5, 31):
                    for q in (0, 17, 31):
                        sr, sq = r + dy, (31 - q if flip else q) + dx
                        want = plain.x[i, sr, sq] if 0 <= sr < 32 and 0 <= sq < 32 else black
                        self.assertTrue(torch.equal(aug.x[i, r, q], want), (i, r, q))


if __name__ == "__main__":
    unittest.main()
