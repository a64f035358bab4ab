"""LayerTable: print the network's layers with output shape and exact parameter count at start."""

from lightning import Callback
from lightning.pytorch.utilities import rank_zero_only
from lightning.pytorch.utilities.model_summary import ModelSummary
from rich.console import Console
from rich.table import Table
from torch import nn


def describe(layer: nn.Module) -> str:
    """'Conv2d + Tanh' for a block, the class name for a single layer."""
    parts = [type(m).__name__ for m in layer.modules() if not list(m.children())]
    return " + ".join(name for name in parts if name != "Flatten")


def count(layer: nn.Module) -> str:
    trainable = sum(p.numel() for p in layer.parameters() if p.requires_grad)
    fixed = sum(p.numel() for p in layer.parameters() if not p.requires_grad)
    return f"{trainable:,}" + (f" (+{fixed:,} fixed)" if fixed else "")


def layer_table(pl_module, network: str = "net") -> Table:
    """A row per child of ``pl_module.<network>`` (C1, S2, ...), with shapes for one image."""
    summary = ModelSummary(pl_module, max_depth=2)  # runs example_input_array for the shapes
    table = Table(title="LeNet-5 layers (output shape for one image)")
    for column in ("layer", "type", "output shape", "parameters"):
        table.add_column(column, justify="right" if column == "parameters" else "left")
    for name, out_size in zip(summary.layer_names, summary.out_sizes, strict=True):
        if name.startswith(f"{network}."):
            layer = pl_module.get_submodule(name)
            shape = "x".join(map(str, out_size[1:])) if isinstance(out_size, list) else "?"
            table.add_row(name.removeprefix(f"{network}."), describe(layer), shape, count(layer))
    table.add_section()
    table.add_row("total", "", "", count(pl_module))
    return table


class LayerTable(Callback):
    """Lightning's summary abbreviates counts (2.4 K) and lists metric modules; this does not."""

    @rank_zero_only
    def on_fit_start(self, trainer, pl_module):
        Console().print(layer_table(pl_module))
