"""What a finished run leaves behind: metrics.json, and its hyperparameters with the final metrics
in every logger (TensorBoard's HPARAMS)."""

import logging
import time
from pathlib import Path

import torch
from lightning import Callback, Trainer
from lightning.pytorch.callbacks import Timer
from omegaconf import DictConfig

from lenetlab.choices import RESULT_METRICS, TEST_ACC, TEST_LOSS, VAL_ACC_BEST
from lenetlab.records.files import write_json_atomic
from lenetlab.records.hparams import log_hparams
from lenetlab.records.loggers import Tracker
from lenetlab.run_folder import EPOCHS, METRICS_FILE, TAGS, TRAIN_TIME, WALL_TIME

log = logging.getLogger(__name__)


class RunClock(Callback):
    """metrics.json's wall_time_s: seconds since ``started`` (this command's start) plus the
    commands this run was resumed from, as callbacks.timer carries train_time_s across them."""

    def __init__(self, started: float):
        self.started = started
        self.before = 0.0  # the wall time of the commands this run was resumed from
        self.restored = 0.0  # what a loaded checkpoint says: applies when fitting resumes

    def elapsed(self) -> float:
        return self.before + time.monotonic() - self.started

    def state_dict(self) -> dict:
        return {WALL_TIME: self.elapsed()}

    def load_state_dict(self, state_dict: dict) -> None:
        self.restored = state_dict.get(WALL_TIME, 0.0)  # also when testing a checkpoint

    def on_train_start(self, trainer, pl_module) -> None:
        self.before = self.restored if trainer.ckpt_path else 0.0


def fit_metrics(trainer: Trainer) -> dict:
    """What fitting reached: the best validation accuracy, the epochs completed, how long the
    training took (with callbacks.timer), the threads."""
    metrics = scalar_metrics(trainer, [VAL_ACC_BEST])
    metrics[EPOCHS] = trainer.fit_loop.epoch_progress.current.completed  # resumes included
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
        log_hparams(logger, cfg, final, trainer.global_step, logged=trainer.logged_metrics)
        logger.finalize("success")
        if isinstance(logger, Tracker):
            logger.close()  # the tracked run ends (W&B's)
    clock = next(c for c in trainer.callbacks if isinstance(c, RunClock))
    metrics[WALL_TIME] = round(clock.elapsed(), 2)
    metrics[TAGS] = [str(tag) for tag in cfg.get("tags") or []]
    path = Path(cfg.paths.output_dir) / METRICS_FILE
    write_json_atomic(path, metrics)
    log.info("metrics: %s (saved to %s)", metrics, path)
