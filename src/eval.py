"""Test a checkpoint on the official test split of its dataset (or of ``data=<name>``).

    python src/eval.py ckpt_path=outputs/<run>/checkpoints/best.ckpt

Needs no training config: the model and the dataset it was trained on are rebuilt from the
checkpoint's saved hyperparameters. Writes metrics.json into its own run directory.
"""

import logging
from pathlib import Path

import hydra
from hydra.utils import instantiate
from omegaconf import DictConfig

from lenetlab.checkpoints import load_trained_model
from lenetlab.data import DigitsDataModule
from lenetlab.errors import exit_on_usage_error
from lenetlab.hydra_app import run_hydra_app
from lenetlab.quiet import silence_library_noise
from lenetlab.results import write_json_atomic
from lenetlab.run_dirs import register_resolvers

log = logging.getLogger(__name__)
register_resolvers()  # before Hydra composes the config


def evaluate(cfg: DictConfig) -> dict:
    silence_library_noise()
    ckpt_path = Path(cfg.ckpt_path)
    model, _ = load_trained_model(ckpt_path)
    if cfg.get("data"):
        datamodule = instantiate(cfg.data)
    else:
        datamodule = DigitsDataModule.load_from_checkpoint(ckpt_path, data_dir=cfg.paths.data_dir)
    trainer = instantiate(cfg.trainer, logger=False, callbacks=[])

    datamodule.prepare_data()
    metrics = trainer.test(model, datamodule=datamodule)[0]
    metrics |= {"checkpoint": str(ckpt_path.resolve()), "dataset": datamodule.hparams.dataset}
    write_json_atomic(Path(cfg.paths.output_dir) / "metrics.json", metrics)
    log.info("metrics: %s", metrics)
    return metrics


@hydra.main(version_base="1.3", config_path="../conf", config_name="eval")
def main(cfg: DictConfig) -> None:
    with exit_on_usage_error():
        evaluate(cfg)


if __name__ == "__main__":
    run_hydra_app(main)
