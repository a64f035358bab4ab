"""Test a checkpoint on the official test split of its dataset (or of ``data=<name>``).

    python src/eval.py ckpt_path=outputs/<run>/checkpoints/best.ckpt
    python src/eval.py ckpt_path=... data=fashion_mnist data.data_dir=/elsewhere

Needs no training config: the model and the dataset it was trained on are rebuilt from the
checkpoint's saved hyperparameters; ``data.<key>=`` changes one of them, as in train.py. Writes
metrics.json into its own run directory.
"""

import logging
from pathlib import Path

from hydra.utils import instantiate
from omegaconf import DictConfig

from lenetlab.runs.checkpoints import checkpoint_datamodule, load_trained_model
from lenetlab.runs.files import write_json_atomic
from lenetlab.runs.launch import launch

log = logging.getLogger(__name__)


def evaluate(cfg: DictConfig) -> dict:
    model, data_hparams = load_trained_model(cfg.ckpt_path)
    datamodule = checkpoint_datamodule(data_hparams, cfg)
    datamodule.prepare_data()  # missing or damaged files: one line
    trainer = instantiate(cfg.trainer, logger=False, callbacks=[])

    metrics = trainer.test(model, datamodule=datamodule)[0]
    metrics |= {"checkpoint": str(Path(cfg.ckpt_path).resolve()),
                "dataset": datamodule.hparams.dataset}  # fmt: skip
    write_json_atomic(Path(cfg.paths.output_dir) / "metrics.json", metrics)
    log.info("metrics: %s", metrics)
    return metrics


def main(cfg: DictConfig) -> None:
    evaluate(cfg)


if __name__ == "__main__":
    launch(main, config_name="eval")
