"""Train a LeNet-5 variant, then test its best (or last) checkpoint; returns
``cfg.optimized_metric`` for Hydra's sweepers."""

import time

import lightning as L
from hydra.utils import instantiate
from omegaconf import DictConfig

from lenetlab.cli.resume import checkpoint_to_resume
from lenetlab.records.results import fit_metrics, record_results, test_metrics
from lenetlab.training.devices import job_devices
from lenetlab.training.ranks import OtherRanks
from lenetlab.training.trainer import build_trainer, checkpoint_to_test


def train(cfg: DictConfig) -> dict:
    started = time.monotonic()
    datamodule = instantiate(cfg.data)
    datamodule.prepare_data()  # missing or damaged files: one line now, not mid-run

    # A joblib sweep's GPU slot for this job; trainer=ddp here: ranks 1..n-1 run this block too.
    with job_devices(cfg.trainer) as devices, OtherRanks(cfg, devices):
        L.seed_everything(cfg.seed, workers=True, verbose=False)
        model = instantiate(cfg.model)
        trainer = build_trainer(cfg, model, devices, started)  # + last.ckpt, disk room
        if cfg.compile:
            model.compile_training_step(cfg.compile_mode)

        trainer.fit(model, datamodule=datamodule, ckpt_path=checkpoint_to_resume(cfg))
        metrics = fit_metrics(trainer)
        if cfg.test:
            tested = checkpoint_to_test(trainer, cfg.test_checkpoint)
            trainer.test(model, datamodule=datamodule, ckpt_path=tested)
            metrics |= test_metrics(trainer, tested)

        record_results(trainer, cfg, metrics)  # metrics.json, TensorBoard HPARAMS (rank 0)
    return metrics


def main(cfg: DictConfig) -> float | None:
    return train(cfg).get(cfg.optimized_metric)
