"""What a finished run leaves behind: metrics.json and TensorBoard hparams with real metrics."""

import json
import os
import tempfile
from pathlib import Path

from lightning import Trainer
from lightning.pytorch.loggers import TensorBoardLogger
from omegaconf import DictConfig, OmegaConf

# Config groups whose values are a run's hyperparameters in TensorBoard's HPARAMS tab.
HPARAM_GROUPS = ("model", "optimizer", "scheduler", "data")
HPARAM_SKIP = {"data_dir", "download", "input_mean", "input_std", "mean", "std"}


def write_text_atomic(path: Path, text: str) -> None:
    """Write to a temporary file beside ``path``, then rename: a kill never leaves half a file."""
    path = Path(path)
    with tempfile.NamedTemporaryFile("w", dir=path.parent, suffix=".tmp", delete=False) as tmp:
        tmp.write(text)
    os.replace(tmp.name, path)


def write_json_atomic(path: Path, data: dict) -> None:
    write_text_atomic(path, json.dumps(data, indent=2) + "\n")


def scalar_metrics(trainer: Trainer, names) -> dict[str, float]:
    """The named metrics the trainer last logged, as floats (absent ones left out)."""
    logged = trainer.callback_metrics
    return {name: float(logged[name]) for name in names if name in logged}


def run_hparams(cfg: DictConfig) -> dict:
    """The hyperparameters that tell runs apart: ``{"model/activation": "tanh", ...}``."""
    hparams = {"seed": cfg.seed}
    for group in HPARAM_GROUPS:
        node = cfg.get(group)
        values = OmegaConf.to_container(node, resolve=True) if node is not None else {}
        if group in ("optimizer", "scheduler"):  # e.g. optimizer: SGD, scheduler: none
            hparams[group] = values.get("_target_", "none").rsplit(".", 1)[-1]
        for key, value in values.items():
            if not key.startswith("_") and key not in HPARAM_SKIP and not isinstance(value, dict):
                hparams[f"{group}/{key}"] = value
    hparams["trainer/max_epochs"] = cfg.trainer.max_epochs
    hparams["trainer/precision"] = str(cfg.trainer.precision)
    return hparams


def log_hparams_with_metrics(trainer: Trainer, hparams: dict, metrics: dict) -> None:
    """Fill TensorBoard's HPARAMS tab with the run's final metrics (not a -1 placeholder)."""
    for logger in trainer.loggers:
        if isinstance(logger, TensorBoardLogger):
            logger.log_hyperparams(hparams, metrics=metrics, step=trainer.global_step)
            logger.finalize("success")
