"""Checkpoint files: written atomically, and opened for eval, predict and export with one line on
why a file is not a lenetlab checkpoint.

A checkpoint holds everything needed to use it without the training config: the model's
hyperparameters (``hyper_parameters``) and its data module's (``datamodule_hyper_parameters``).
"""

from pathlib import Path

import torch
from hydra.core.hydra_config import HydraConfig
from hydra.utils import instantiate
from lightning.pytorch.plugins.io import TorchCheckpointIO
from omegaconf import DictConfig, OmegaConf

from lenetlab.data.datamodule import DigitsDataModule
from lenetlab.errors import UsageError
from lenetlab.models.module import LeNetModule
from lenetlab.runs.files import write_atomic


def load_trained_model(ckpt_path: str | Path) -> tuple[LeNetModule, dict]:
    """The model in eval mode, on the CPU, and the hyperparameters of the data it learnt from."""
    ckpt_path = Path(ckpt_path)
    if not ckpt_path.is_file():
        raise UsageError(
            f"ckpt_path={ckpt_path}: no such file (a run's checkpoints are in "
            "outputs/<run>/checkpoints/)"
        )
    try:
        checkpoint = torch.load(ckpt_path, map_location="cpu", weights_only=False)
        data_hparams = dict(checkpoint["datamodule_hyper_parameters"])
        model = LeNetModule.load_from_checkpoint(ckpt_path, map_location="cpu")
    except Exception as error:  # unpickling errors, missing keys, another architecture
        raise UsageError(
            f"ckpt_path={ckpt_path} is not a lenetlab checkpoint ({type(error).__name__}); "
            "use one from outputs/<run>/checkpoints/"
        ) from error
    return model.eval(), data_hparams


def checkpoint_datamodule(data_hparams: dict, cfg: DictConfig) -> DigitsDataModule:
    """The data module a checkpoint was trained with, changed as the command line says: every
    ``data.<key>=`` given there applies (``data.data_dir`` always: where the data is here), and
    ``data=<name>`` replaces the whole dataset with that config."""
    given = command_line_keys()
    if "data" in given:
        return instantiate(cfg.data)
    changed = {key.split(".")[1] for key in given if key.startswith("data.")} | {"data_dir"}
    data = OmegaConf.to_container(cfg.data, resolve=True)
    return DigitsDataModule(**(data_hparams | {key: data[key] for key in changed}))


def command_line_keys() -> set[str]:
    """The keys the command line set: ``data.batch_size=64`` -> ``data.batch_size``,
    ``data=usps`` -> ``data``."""
    if not HydraConfig.initialized():
        return set()
    return {o.split("=", 1)[0].lstrip("+~") for o in HydraConfig.get().overrides.task}


class AtomicCheckpointIO(TorchCheckpointIO):
    """Write each checkpoint to a temporary file in its own folder, then rename it into place:
    a kill mid-write leaves the previous checkpoint, never half a new one. (Lightning's own save
    stages the file in the system temp folder, which is only a rename when that is on the same
    file system.)"""

    def save_checkpoint(self, checkpoint, path, storage_options=None) -> None:
        write_atomic(path, lambda f: torch.save(checkpoint, f))
