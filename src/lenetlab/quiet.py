"""Silence third-party messages that say nothing about the user's run."""

import logging
import warnings


def silence_library_noise() -> None:
    # Lightning 2.6 calls a torch.utils._pytree API that torch 2.14 deprecates, once per fit.
    warnings.filterwarnings("ignore", message=r".*isinstance\(treespec, LeafSpec\)")
    # In-process loading is deliberate (a batch is one tensor gather), not a bottleneck.
    warnings.filterwarnings("ignore", message=r".*does not have many workers.*")
    # An advertisement printed at every Trainer start.
    logging.getLogger("lightning.pytorch.utilities.rank_zero").addFilter(
        lambda record: "litlogger" not in record.getMessage()
    )
