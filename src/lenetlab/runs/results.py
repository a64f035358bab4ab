"""What a finished run leaves behind: metrics.json, and TensorBoard's HPARAMS with real metrics."""

import logging
from pathlib import Path

import torch
from lightning import Trainer
from lightning.pytorch.callbacks import Timer
from lightning.pytorch.loggers import TensorBoardLogger
from omegaconf import DictConfig

from lenetlab.models.module import EPOCHS_COMPLETED, TEST_ACC, TEST_LOSS, VAL_ACC_BEST
from lenetlab.runs.files import write_json_atomic
from lenetlab.runs.hparams import log_hparams

log = logging.getLogger(__name__)

# metrics.json's keys besides the metrics themselves (the sweep summary reads them too).
EPOCHS = "epochs"
WALL_TIME = "wall_time_s"  # the whole train.py job: fit and test
TRAIN_TIME = "train_time_s"  # training alone (callbacks.timer): its steps and validations
# The metrics a run ends with: metrics.json, TensorBoard's HPARAMS, what sweepers optimise.
RESULT_METRICS = (VAL_ACC_BEST, TEST_ACC, TEST_LOSS)


def fit_metrics(trainer: Trainer) -> dict:
    """What fitting reached: the best validation accuracy, the epochs completed, how long the
    training took (with callbacks.timer), the threads."""
    metrics = scalar_metrics(trainer, [VAL_ACC_BEST])
    metrics[EPOCHS] = int(trainer.callback_metrics.get(EPOCHS_COMPLETED, 0))
    timer = next((c for c in trainer.callbacks if isinstance(c, Timer)), None)
    if timer is not None and timer.end_time() is not None:
        metrics[TRAIN_TIME] = round(timer.time_elapsed(), 2)
    metrics["torch_threads"] = torch.get_num_threads()
    return metrics


def test_metrics(trainer: Trainer, tested: str | None) -> dict:
    """The test's accuracy and loss, and which checkpoint they are of."""
    best = trainer.checkpoint_callback.best_model_path if trainer.checkpoint_callback else ""
    metrics = scalar_metrics(trainer, [TEST_ACC, TEST_LOSS])
    return metrics | {"best_checkpoint": best, "tested_checkpoint": tested or ""}


def scalar_metrics(trainer: Trainer, names) -> dict[str, float]:
    """The named metrics the trainer last logged, as floats (absent ones left out)."""
    logged = trainer.callback_metrics
    return {name: float(logged[name]) for name in names if name in logged}


def record_results(trainer: Trainer, cfg: DictConfig, metrics: dict) -> None:
    """metrics.json in the run folder, and the run's hyperparameters with its final metrics in
    TensorBoard; written by rank 0 only."""
    if not trainer.is_global_zero:
        return
    final = {name: metrics[name] for name in (*RESULT_METRICS, EPOCHS) if name in metrics}
    for logger in trainer.loggers:
        if isinstance(logger, TensorBoardLogger):
            log_hparams(logger, cfg, final, step=trainer.global_step)
            logger.finalize("success")
    path = Path(cfg.paths.output_dir) / "metrics.json"
    write_json_atomic(path, metrics)
    log.info("metrics: %s (saved to %s)", metrics, path)
