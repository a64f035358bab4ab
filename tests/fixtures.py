"""Tiny datasets written in the real on-disk formats, so torchvision's own readers parse them.

Each class is a bright block in its own cell of a 3x4 grid plus noise: learnable in a few epochs,
so tests can tell a model that learns from one that does not.
"""

import bz2
import struct
from pathlib import Path

import numpy as np

MNIST_SIZES = {"train": 600, "t10k": 200}
USPS_SIZES = {"usps.bz2": 300, "usps.t.bz2": 100}


def synthetic_digits(n: int, size: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(n, size, size) uint8 images and (n,) labels 0-9; class k lights grid cell k."""
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % 10
    rng.shuffle(labels)
    images = rng.integers(0, 40, size=(n, size, size), dtype=np.uint8)
    cell = size // 4
    for image, label in zip(images, labels, strict=True):
        row, col = divmod(int(label), 4)
        top, left = row * cell + cell // 2, col * cell
        image[top : top + cell, left : left + cell] = rng.integers(180, 256)
    return images, labels.astype(np.uint8)


def write_idx(path: Path, array: np.ndarray) -> None:
    """IDX file of unsigned bytes: magic 0x0000 0x08 <ndim>, big-endian int32 dims, then data."""
    header = struct.pack(">HBB", 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    path.write_bytes(header + array.astype(np.uint8).tobytes())


def write_mnist_like(root: Path, folder: str, seed: int) -> None:
    """<root>/<folder>/raw/{train,t10k}-{images-idx3,labels-idx1}-ubyte, as MNIST ships them."""
    raw = root / folder / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    for offset, (split, n) in enumerate(MNIST_SIZES.items()):
        images, labels = synthetic_digits(n, 28, seed + offset)
        write_idx(raw / f"{split}-images-idx3-ubyte", images)
        write_idx(raw / f"{split}-labels-idx1-ubyte", labels)


def write_usps(root: Path, seed: int) -> None:
    """<root>/usps.bz2 and usps.t.bz2: bz2 libsvm lines '<label 1-10> 1:<v> ... 256:<v>'.

    Pixel values v lie in [-1, 1], as in the LIBSVM copy torchvision downloads.
    """
    root.mkdir(parents=True, exist_ok=True)
    for offset, (name, n) in enumerate(USPS_SIZES.items()):
        images, labels = synthetic_digits(n, 16, seed + offset)
        values = images.reshape(n, -1).astype(np.float64) / 255 * 2 - 1
        lines = [
            f"{label + 1} " + " ".join(f"{i}:{v:.6f}" for i, v in enumerate(row, start=1))
            for label, row in zip(labels, values, strict=True)
        ]
        (root / name).write_bytes(bz2.compress(("\n".join(lines) + "\n").encode()))


def write_all(root: Path) -> Path:
    write_mnist_like(root, "MNIST", seed=0)
    write_mnist_like(root, "FashionMNIST", seed=10)
    write_usps(root, seed=20)
    return root
