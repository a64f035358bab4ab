"""A photo or scan of one character -> the 32x32 uint8 image a model trained here expects.

MNIST's own recipe (LeCun et al. 1998, section III.A), applied to any picture:
grayscale; light ink on a dark background (dark-on-light pictures are inverted, judged by the
border); cropped to the ink's bounding box; scaled to fit a 20x20 box keeping the aspect ratio;
placed in 28x28 so that its centre of mass is the centre; padded to 32x32 as the data module pads.
Fashion-MNIST objects fill their 28x28 frame, and USPS digits their 16x16 frame (upsampled to
32x32), so for those the box is the frame and the bounding box is centred instead.
"""

from pathlib import Path
from typing import BinaryIO

import numpy as np
import torch
from PIL import Image, ImageOps

from lenetlab.data.sources import to_32x32

# dataset -> (frame, box the ink is scaled into, centre by centre of mass)
GEOMETRY = {
    "mnist": (28, 20, True),
    "fashion_mnist": (28, 28, False),
    "usps": (16, 16, False),
}


class NotADigitPhoto(ValueError):
    """The file is an image but holds nothing to classify (e.g. a blank page)."""


def load_gray(path: Path | BinaryIO) -> np.ndarray:
    """Any PIL-readable file -> (H, W) float32 in [0, 255]; transparency composited on white."""
    with Image.open(path) as image:
        image = ImageOps.exif_transpose(image)  # phone photos store their rotation in EXIF
        if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
            white = Image.new("RGBA", image.size, "white")
            image = Image.alpha_composite(white, image.convert("RGBA"))
        return np.asarray(image.convert("L"), dtype=np.float32)


def ink_on_black(gray: np.ndarray) -> np.ndarray:
    """Light ink on black: invert if the border (the background) is the bright side, then
    subtract the background's level (grey paper, dim lighting)."""
    border = np.concatenate([gray[0], gray[-1], gray[:, 0], gray[:, -1]])
    if np.median(border) > 127:
        gray, border = 255.0 - gray, 255.0 - border
    return np.clip(gray - np.median(border), 0, None)


def crop_to_ink(ink: np.ndarray) -> np.ndarray:
    """The bounding box of the pixels brighter than a third of the brightest."""
    peak = ink.max()
    if peak < 32:  # under an eighth of full contrast: a blank or nearly blank picture
        raise NotADigitPhoto("no ink found (the picture is blank or has too little contrast)")
    rows, cols = np.nonzero(ink > peak / 3)
    crop = ink[rows.min() : rows.max() + 1, cols.min() : cols.max() + 1]
    return crop * (255.0 / crop.max())


def fit_in_box(crop: np.ndarray, box: int) -> np.ndarray:
    """Scale so the longer side is ``box`` pixels, keeping the aspect ratio (antialiased)."""
    height, width = crop.shape
    scale = box / max(height, width)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    image = Image.fromarray(crop.astype(np.float32), mode="F")
    return np.asarray(image.resize(size, Image.Resampling.LANCZOS)).clip(0, 255)


def place(digit: np.ndarray, frame: int, by_mass: bool) -> np.ndarray:
    """Paste into a black frame x frame canvas, centred by centre of mass or by bounding box."""
    canvas = np.zeros((frame, frame), dtype=np.float32)
    height, width = digit.shape
    if by_mass:
        total = digit.sum()
        rows, cols = np.indices(digit.shape)
        centre = ((rows * digit).sum() / total, (cols * digit).sum() / total)
    else:
        centre = ((height - 1) / 2, (width - 1) / 2)
    top = int(round((frame - 1) / 2 - centre[0]))
    left = int(round((frame - 1) / 2 - centre[1]))
    # Clip what a lopsided centre of mass would push past the frame.
    src_top, src_left = max(0, -top), max(0, -left)
    dst_top, dst_left = max(0, top), max(0, left)
    rows = min(height - src_top, frame - dst_top)
    cols = min(width - src_left, frame - dst_left)
    canvas[dst_top : dst_top + rows, dst_left : dst_left + cols] = digit[
        src_top : src_top + rows, src_left : src_left + cols
    ]
    return canvas


def photo_to_input(path: Path | BinaryIO, dataset: str = "mnist") -> torch.Tensor:
    """(1, 32, 32) uint8, as the data module serves the dataset's own images; ``path`` a file
    or the bytes of one (the demo page's drawings)."""
    frame, box, by_mass = GEOMETRY[dataset]
    digit = fit_in_box(crop_to_ink(ink_on_black(load_gray(path))), box)
    image = torch.from_numpy(place(digit, frame, by_mass).round().astype(np.uint8))
    return to_32x32(image[None])[0]
