"""The datasets on disk: where torchvision's readers expect each one's files, what is wrong with a
damaged file, and the 32x32 geometry every split is brought to.
"""

import bz2
import math
import struct
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torchvision import datasets

from lenetlab.choices import DATASETS
from lenetlab.errors import UsageError

IMAGE_SIZE = 32


class DatasetNotFoundError(UsageError):
    """The dataset's files are not on disk and could not be downloaded."""


class DatasetCorruptError(UsageError):
    """A dataset file is there but cannot be read (truncated, wrong format)."""


def file_problem(path: Path) -> str | None:
    """What is wrong with a dataset file, or None. IDX (MNIST's format): the header gives the
    data type and dimensions, so the exact size is known. bz2 (USPS): it must decompress."""
    if path.suffix == ".bz2":
        try:
            with bz2.open(path) as stream:
                while stream.read(1 << 20):
                    pass
        except (OSError, EOFError) as error:
            return f"not a complete bz2 file ({error})"
        return None
    with open(path, "rb") as f:
        header = f.read(4 + 4 * 255)
    size = path.stat().st_size
    if len(header) < 4 or header[:2] != b"\x00\x00" or header[2] != 0x08:
        return "not an IDX file of unsigned bytes (bad magic number)"
    ndim = header[3]
    if len(header) < 4 + 4 * ndim:
        return "truncated header"
    dims = struct.unpack(f">{ndim}I", header[4 : 4 + 4 * ndim])
    expected = 4 + 4 * ndim + math.prod(dims)
    if size != expected:
        return f"{size} bytes where its header ({' x '.join(map(str, dims))}) needs {expected}"
    return None


@dataclass(frozen=True)
class DatasetSource:
    """Where torchvision's reader for a dataset expects its files, relative to ``data_dir``."""

    reader: type
    folder: str
    files: tuple[str, ...]
    url: str
    classes: tuple[str, ...] = tuple("0123456789")  # names of labels 0, 1, ...


MNIST_FILES = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)
SOURCES = {
    "mnist": DatasetSource(
        datasets.MNIST, "MNIST/raw", MNIST_FILES, "https://yann.lecun.com/exdb/mnist/"
    ),
    "fashion_mnist": DatasetSource(
        datasets.FashionMNIST,
        "FashionMNIST/raw",
        MNIST_FILES,
        "https://github.com/zalandoresearch/fashion-mnist",
        tuple(datasets.FashionMNIST.classes),
    ),
    "usps": DatasetSource(
        datasets.USPS,
        ".",
        ("usps.bz2", "usps.t.bz2"),
        "https://www.csie.ntu.edu.tw/~cjlin/libsvmtools/datasets/multiclass.html#usps",
    ),
}

assert tuple(SOURCES) == DATASETS


def to_32x32(images: torch.Tensor) -> torch.Tensor:
    """(N, H, W) uint8 -> (N, 1, 32, 32) uint8: pad 28x28 with background, upsample 16x16."""
    images = images.unsqueeze(1)
    size = images.shape[-1]
    if size == 28:
        return F.pad(images, (2, 2, 2, 2))
    if size == 16:
        upsampled = F.interpolate(images.float(), size=IMAGE_SIZE, mode="bilinear")
        return upsampled.round_().clamp_(0, 255).to(torch.uint8)
    raise ValueError(f"expected 28x28 or 16x16 images, got {tuple(images.shape[-2:])}")
