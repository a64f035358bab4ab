"""Train a LeNet-5 variant, then test its best (or last) checkpoint.

    python src/train.py model=lenet_relu data=fashion_mnist trainer.max_epochs=5
    python src/train.py -m model=lenet_sigmoid,lenet_tanh,lenet_relu

Returns ``cfg.optimized_metric`` for Hydra sweepers. The run directory holds the config
(.hydra/), checkpoints/, TensorBoard event files and metrics.json.
"""

import logging
import sys
import time
from pathlib import Path

import hydra
import lightning as L
import torch
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf

from lenetlab.config_checks import check_config
from lenetlab.disk_space import bytes_a_run_writes, check_free_space
from lenetlab.errors import exit_on_usage_error
from lenetlab.hydra_app import run_hydra_app
from lenetlab.instantiate import instantiate_each
from lenetlab.parallel_jobs import devices_for_job
from lenetlab.quiet import silence_library_noise
from lenetlab.results import (
    log_hparams_with_metrics,
    run_hparams,
    scalar_metrics,
    write_json_atomic,
)
from lenetlab.resume import last_checkpoint, resume_command_line
from lenetlab.run_dirs import discarded_if_unused, register_resolvers

log = logging.getLogger(__name__)
register_resolvers()  # before Hydra composes the config


def train(cfg: DictConfig) -> dict:
    started = time.monotonic()
    check_config(cfg)  # before any data is read or model built
    silence_library_noise()
    datamodule = instantiate(cfg.data)
    datamodule.prepare_data()  # missing files: one line now, before anything else starts

    L.seed_everything(cfg.seed, workers=True, verbose=False)  # the seed is in the config
    model = instantiate(cfg.model)
    check_free_space(cfg.paths.output_dir, bytes_a_run_writes(model, cfg.trainer.max_epochs))
    if cfg.compile:
        model = torch.compile(model)
        if OmegaConf.select(cfg, "logger.tensorboard.log_graph"):
            cfg.logger.tensorboard.log_graph = False  # a jit trace cannot trace compiled code
    trainer = instantiate(
        cfg.trainer,
        devices=devices_for_job(cfg.trainer),
        callbacks=instantiate_each(cfg.get("callbacks")),
        logger=instantiate_each(cfg.get("logger")) or False,
    )

    resume_from = last_checkpoint(cfg.resume) if cfg.get("resume") else None
    if resume_from:
        log.info("resuming from %s", resume_from)
    trainer.fit(model, datamodule=datamodule, ckpt_path=resume_from)
    metrics = scalar_metrics(trainer, ["val/acc_best"])
    metrics["epochs"] = int(trainer.callback_metrics.get("epochs_completed", 0))
    metrics["torch_threads"] = torch.get_num_threads()

    if cfg.test:
        best = trainer.checkpoint_callback.best_model_path if trainer.checkpoint_callback else ""
        tested = checkpoint_to_test(cfg.test_checkpoint, best, cfg.paths.output_dir)
        trainer.test(model, datamodule=datamodule, ckpt_path=tested or None)
        metrics |= scalar_metrics(trainer, ["test/acc", "test/loss"])
        metrics["best_checkpoint"] = best
        metrics["tested_checkpoint"] = tested

    metrics["wall_time_s"] = round(time.monotonic() - started, 2)
    if trainer.is_global_zero:
        final = {k: v for k, v in metrics.items() if k in ("val/acc_best", "test/acc", "test/loss")}
        log_hparams_with_metrics(trainer, run_hparams(cfg), final)
        output_dir = Path(cfg.paths.output_dir)
        write_json_atomic(output_dir / "metrics.json", metrics)
        log.info("metrics: %s (saved to %s)", metrics, output_dir / "metrics.json")
    return metrics


def checkpoint_to_test(which: str, best: str, run_dir: str) -> str:
    """The checkpoint file the test reads: ``best`` (by validation accuracy) or ``last``."""
    path = best if which == "best" else str(last_checkpoint(run_dir))
    if path and Path(path).is_file():
        return path
    log.warning(
        "No %s checkpoint (fast_dev_run or checkpointing off): testing the last weights.", which
    )
    return ""


@hydra.main(version_base="1.3", config_path="../conf", config_name="train")
def main(cfg: DictConfig) -> float | None:
    run_dir = cfg.paths.output_dir
    with exit_on_usage_error(run_dir), discarded_if_unused(run_dir):
        metrics = train(cfg)
    return metrics.get(cfg.optimized_metric)


if __name__ == "__main__":
    with exit_on_usage_error():
        sys.argv = resume_command_line(sys.argv)
    run_hydra_app(main)
