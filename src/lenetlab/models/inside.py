"""Inside a LeNet-5: what each layer makes of an input, and what it has learnt, as pictures.

The layers in the paper's names (LeCun et al. 1998, Fig. 2): the 32x32 input as the network
sees it (normalised), C1 6@28x28, S2 6@14x14, C3 16@10x10, S4 16@5x5, C5 120, F6 84 and the
output (for the 1998 network: the RBF units' distances to their fixed 7x12 prototypes). What it
has learnt: C1's 6 and C3's 16x6 5x5 kernels (the sparse C3 shows its missing connections
blank), and the RBF prototypes. The demo page (lenetlab/demo) and the TensorBoard callback
(callbacks/feature_maps.py) draw the same pictures from here.
"""

import io

import numpy as np
import torch
from PIL import Image

from lenetlab.models.blocks import EuclideanRBF, SparseConv2d
from lenetlab.models.module import LeNetModule

LAYERS = ("c1", "s2", "c3", "s4", "c5", "f6", "output")  # LeNet5's children, in forward order
F6_GRID, C5_GRID = (7, 12), (10, 12)  # 84 and 120 units drawn as bitmaps, as the paper's F6


@torch.inference_mode()
def layer_outputs(model: LeNetModule, images: torch.Tensor) -> dict[str, torch.Tensor]:
    """{"input": the normalised images, "c1": ..., "output": ...} for uint8 (N, 1, 32, 32)
    images, each (N, ...) in float32 on the CPU. Read with forward hooks, so what is shown is
    what the model's own forward pass computes."""
    outputs = {}
    hooks = [
        getattr(model.net, name).register_forward_hook(
            lambda _module, _inputs, output, name=name: outputs.__setitem__(name, output)
        )
        for name in LAYERS
    ]
    try:
        model(images.to(model.device))
    finally:
        for hook in hooks:
            hook.remove()
    outputs = {"input": model.normalize(images.to(model.device))} | outputs
    return {name: output.float().cpu().contiguous() for name, output in outputs.items()}


def label(name: str, output: torch.Tensor, rbf: bool = False) -> str:
    """'C1 6@28x28', 'C5 120', 'output: distances to the 10 prototypes', ..."""
    if name == "input":
        return "input 32x32 (as the network sees it)"
    if name == "output":
        if rbf:  # the head returns minus the distances: the brightest unit is the nearest
            return f"output: distances to the {output.shape[-1]} RBF prototypes (bright: near)"
        return "output"
    shape = tuple(output.shape[1:])
    if len(shape) == 3 and shape[1] > 1:
        return f"{name.upper()} {shape[0]}@{shape[1]}x{shape[2]}"
    return f"{name.upper()} {int(np.prod(shape))}"


def maps_picture(maps: torch.Tensor, scale: int = 3, gap: int = 2) -> np.ndarray:
    """(C, H, W) feature maps, or (U,) units -> one uint8 picture: the maps side by side (in
    rows of 8 when there are more than 8), each stretched to its own range; units (C5's
    120@1x1 too) as a bitmap."""
    if maps.dim() == 3 and maps.shape[1:] == (1, 1):
        maps = maps.flatten()
    if maps.dim() == 1:
        rows, columns = F6_GRID if maps.numel() == 84 else C5_GRID
        if maps.numel() != rows * columns:
            rows, columns = 1, maps.numel()
        return spread(maps.view(1, rows, columns), scale * 4, gap)[0]
    return tiles(spread(maps, scale, gap), columns=min(8, len(maps)), gap=gap)


def kernels_picture(weight: torch.Tensor, scale: int = 6, gap: int = 2) -> np.ndarray:
    """(out, in, k, k) kernels -> a grid, one column per output map (C1: a row of 6; C3: its
    16 maps' kernels on each of the 6 input maps); a kernel of all zeros (a connection the
    sparse C3 does not make) stays blank."""
    out_maps, in_maps, k, _ = weight.shape
    flat = weight.transpose(0, 1).reshape(in_maps * out_maps, k, k)
    pictures = spread(flat, scale, gap)
    pictures[flat.abs().flatten(1).amax(1) == 0] = 255  # no connection: paper white
    return tiles(pictures, columns=out_maps, gap=gap)


def spread(maps: torch.Tensor, scale: int, gap: int) -> np.ndarray:
    """(C, H, W) -> (C, H*scale, W*scale) uint8, each map stretched from its min to its max."""
    low = maps.flatten(1).amin(1).view(-1, 1, 1)
    high = maps.flatten(1).amax(1).view(-1, 1, 1)
    scaled = (maps - low) / (high - low).clamp_min(1e-12) * 255
    pixels = scaled.round().to(torch.uint8).numpy()
    return pixels.repeat(scale, axis=1).repeat(scale, axis=2)


def tiles(pictures: np.ndarray, columns: int, gap: int) -> np.ndarray:
    """(N, h, w) uint8 -> a grid with ``gap`` pixels of mid grey between the pictures."""
    count, height, width = pictures.shape
    rows = (count + columns - 1) // columns
    grid = np.full((rows * (height + gap) - gap, columns * (width + gap) - gap), 128, np.uint8)
    for index, picture in enumerate(pictures):
        row, col = divmod(index, columns)
        grid[row * (height + gap) : row * (height + gap) + height,
             col * (width + gap) : col * (width + gap) + width] = picture  # fmt: skip
    return grid


def kernels(model: LeNetModule) -> dict[str, torch.Tensor]:
    """{"c1": (6, 1, 5, 5), "c3": (16, 6, 5, 5)} (a sparse C3's missing kernels zero)."""
    c3 = model.net.c3[0]
    dense_c3 = c3.dense_weight() if isinstance(c3, SparseConv2d) else c3.weight
    return {"c1": model.net.c1[0].weight.detach().float().cpu(),
            "c3": dense_c3.detach().float().cpu()}  # fmt: skip


def prototypes(model: LeNetModule) -> torch.Tensor | None:
    """The RBF head's (classes, 7, 12) prototypes, or None for a linear head."""
    head = model.net.output
    if not isinstance(head, EuclideanRBF):
        return None
    return head.prototypes.detach().float().cpu().view(-1, *F6_GRID)


def prototypes_picture(model: LeNetModule) -> np.ndarray | None:
    """The RBF prototypes side by side, or None for a linear head."""
    found = prototypes(model)
    return None if found is None else maps_picture(found, scale=4)


def png(picture: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(picture).save(buffer, format="PNG")
    return buffer.getvalue()
