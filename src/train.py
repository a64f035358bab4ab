"""Train a LeNet-5 variant, then test its best (or last) checkpoint.

    python src/train.py model=lenet_relu data=fashion_mnist trainer.max_epochs=5
    python src/train.py -m model=lenet_sigmoid,lenet_tanh,lenet_relu

Returns ``cfg.optimized_metric`` for Hydra sweepers. The run directory holds the config
(.hydra/), checkpoints/, TensorBoard event files and metrics.json.
"""

import time

import lightning as L
import torch
from hydra.utils import instantiate
from omegaconf import DictConfig

from lenetlab.runs.config_checks import check_config
from lenetlab.runs.devices import check_device_request
from lenetlab.runs.launch import launch
from lenetlab.runs.ranks import OtherRanks
from lenetlab.runs.results import WALL_TIME, fit_metrics, record_results, test_metrics
from lenetlab.runs.resume import checkpoint_to_resume
from lenetlab.runs.trainer import build_trainer, checkpoint_to_test


def train(cfg: DictConfig) -> dict:
    started = time.monotonic()
    check_config(cfg)  # every value, before any data is read or model built
    check_device_request(cfg)  # against what this machine has
    datamodule = instantiate(cfg.data)
    datamodule.prepare_data()  # missing or damaged files: one line now, not mid-run

    with OtherRanks(cfg):  # trainer=ddp on this machine: ranks 1..n-1 run this block too
        L.seed_everything(cfg.seed, workers=True, verbose=False)
        model = instantiate(cfg.model)
        trainer = build_trainer(cfg, model)  # this job's devices; room on the disk for the run
        if cfg.compile:
            model = torch.compile(model)

        trainer.fit(model, datamodule=datamodule, ckpt_path=checkpoint_to_resume(cfg))
        metrics = fit_metrics(trainer)
        if cfg.test:
            tested = checkpoint_to_test(trainer, cfg.test_checkpoint)
            trainer.test(model, datamodule=datamodule, ckpt_path=tested)
            metrics |= test_metrics(trainer, tested)

        metrics[WALL_TIME] = round(time.monotonic() - started, 2)
        record_results(trainer, cfg, metrics)  # metrics.json, TensorBoard HPARAMS (rank 0)
    return metrics


def main(cfg: DictConfig) -> float | None:
    return train(cfg).get(cfg.optimized_metric)


if __name__ == "__main__":
    launch(main, config_name="train")
