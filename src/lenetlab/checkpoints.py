"""Open a lenetlab checkpoint, or say in one line why the file is not one."""

from pathlib import Path

import torch

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
