"""Checkpoint files: written atomically, and opened with one line on why a file is not one."""

import os
import tempfile
from pathlib import Path

import torch
from lightning.pytorch.plugins.io import TorchCheckpointIO

from lenetlab.errors import UsageError
from lenetlab.module import LeNetModule


def load_trained_model(ckpt_path: Path) -> tuple[LeNetModule, str]:
    """The model in eval mode, on the CPU, and the name of the dataset it was trained on."""
    ckpt_path = Path(ckpt_path)
    if not ckpt_path.is_file():
        raise UsageError(
            f"ckpt_path={ckpt_path}: no such file (a run's checkpoints are in "
            "outputs/<run>/checkpoints/)"
        )
    try:
        checkpoint = torch.load(ckpt_path, map_location="cpu", weights_only=False)
        dataset = checkpoint["datamodule_hyper_parameters"]["dataset"]
        model = LeNetModule.load_from_checkpoint(ckpt_path, map_location="cpu")
    except Exception as error:  # unpickling errors, missing keys, another architecture
        raise UsageError(
            f"ckpt_path={ckpt_path} is not a lenetlab checkpoint ({type(error).__name__}); "
            "use one from outputs/<run>/checkpoints/"
        ) from error
    return model.eval(), dataset


class AtomicCheckpointIO(TorchCheckpointIO):
    """Write each checkpoint to a temporary file in its own folder, then rename it into place:
    a kill mid-write leaves the previous checkpoint, never half a new one. (Lightning's own save
    stages the file in the system temp folder, which is only a rename when that is on the same
    file system.)"""

    def save_checkpoint(self, checkpoint, path, storage_options=None) -> None:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
        try:
            with os.fdopen(handle, "wb") as f:
                torch.save(checkpoint, f)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
