"""LayerTable: print the network's layers with output shape and exact parameter count at start."""

from lightning import Callback
from lightning.pytorch.utilities import rank_zero_only
from lightning.pytorch.utilities.model_summary import ModelSummary
from rich.console import Console
from rich.table import Table


def layer_table(pl_module, network: str = "net") -> Table:
    """A row per child of ``pl_module.<network>`` (C1, S2, ...), with shapes for one image."""
    summary = ModelSummary(pl_module, max_depth=2)
    table = Table(title="LeNet-5 layers (output shape for one image)")
    for column in ("layer", "type", "output shape", "parameters"):
        table.add_column(column, justify="right" if column == "parameters" else "left")
    rows = zip(
        summary.layer_names, summary.layer_types, summary.out_sizes, summary.param_nums, strict=True
    )
    for name, layer_type, out_size, params in rows:
        if name.startswith(f"{network}."):
            shape = "x".join(map(str, out_size[1:])) if isinstance(out_size, list) else "?"
            table.add_row(name.removeprefix(f"{network}."), layer_type, shape, f"{params:,}")
    trainable = sum(p.numel() for p in pl_module.parameters() if p.requires_grad)
    frozen = sum(p.numel() for p in pl_module.parameters() if not p.requires_grad)
    table.add_section()
    table.add_row("trainable", "", "", f"{trainable:,}")
    if frozen:
        table.add_row("non-trainable", "", "", f"{frozen:,}")
    return table


class LayerTable(Callback):
    """Lightning's summary abbreviates counts (2.4 K) and lists metric modules; this does not."""

    @rank_zero_only
    def on_fit_start(self, trainer, pl_module):
        Console().print(layer_table(pl_module))
