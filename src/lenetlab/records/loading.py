"""Opening a checkpoint for eval, predict and export, with one line on why a file is not a
lenetlab checkpoint.

A checkpoint holds everything needed to use it without the training config: the model's
hyperparameters (``hyper_parameters``) and its data module's (``datamodule_hyper_parameters``).
"""

from pathlib import Path

import torch

from lenetlab.data.datamodule import DigitsDataModule
from lenetlab.errors import UsageError
from lenetlab.models.module import LeNetModule
from lenetlab.pretrained import checkpoint_file


def load_trained_model(ckpt_path: str | Path) -> tuple[LeNetModule, dict]:
    """The model in eval mode, on the CPU, and the hyperparameters of the data it learnt from;
    ``ckpt_path`` a file or ``pretrained:<name>`` (a model that ships with lenetlab)."""
    try:  # that the file exists is checked with the config (cli/checks.py)
        file = checkpoint_file(ckpt_path)
        checkpoint = torch.load(file, map_location="cpu", weights_only=False)
        data_hparams = dict(checkpoint["datamodule_hyper_parameters"])
        model = LeNetModule.load_from_checkpoint(file, map_location="cpu")
    except Exception as error:  # unpickling errors, missing keys, another architecture
        raise UsageError(
            f"ckpt_path={ckpt_path} is not a lenetlab checkpoint ({type(error).__name__}); "
            "use one from outputs/<run>/checkpoints/"
        ) from error
    return model.eval(), data_hparams


def checkpoint_datamodule(
    data_hparams: dict, dataset: str | None, data_dir: str | None, batch_size: int | None = None
) -> DigitsDataModule:
    """The data module a checkpoint was trained with, changed by the command's own keys (each
    None: the checkpoint's): another ``dataset``, the ``data_dir`` it is in on this machine, the
    ``batch_size`` to evaluate in."""
    changes = {"dataset": dataset, "data_dir": data_dir, "eval_batch_size": batch_size}
    return DigitsDataModule(**data_hparams | {k: v for k, v in changes.items() if v is not None})
