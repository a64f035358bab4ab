"""Test a checkpoint on the official test split of its dataset (or of ``dataset=<name>``);
metrics.json in the command's own run folder."""

import logging
from pathlib import Path

from hydra.utils import instantiate
from omegaconf import DictConfig

from lenetlab.pretrained import checkpoint_file
from lenetlab.records.files import write_json_atomic
from lenetlab.records.loading import checkpoint_datamodule, load_trained_model
from lenetlab.run_folder import METRICS_FILE

log = logging.getLogger(__name__)


def evaluate(cfg: DictConfig) -> dict:
    model, data_hparams = load_trained_model(cfg.ckpt_path)
    datamodule = checkpoint_datamodule(data_hparams, cfg.dataset, cfg.data_dir, cfg.batch_size)
    datamodule.prepare_data()  # missing or damaged files: one line
    trainer = instantiate(cfg.trainer, logger=False, callbacks=[], plugins=[])

    metrics = trainer.test(model, datamodule=datamodule)[0]
    metrics |= {"checkpoint": str(checkpoint_file(cfg.ckpt_path).resolve()),
                "dataset": datamodule.hparams.dataset}  # fmt: skip
    write_json_atomic(Path(cfg.paths.output_dir) / METRICS_FILE, metrics)
    log.info("metrics: %s", metrics)
    return metrics


def main(cfg: DictConfig) -> None:
    evaluate(cfg)
