"""Test a checkpoint on the official test split of its dataset (or of another one).

    python src/eval.py ckpt_path=outputs/<run>/checkpoints/best.ckpt
    python src/eval.py ckpt_path=... dataset=fashion_mnist data_dir=/elsewhere batch_size=500

Needs no training config: the model and the dataset it was trained on are rebuilt from the
checkpoint's saved hyperparameters; ``dataset``, ``data_dir`` and ``batch_size`` change them
(conf/eval.yaml). Writes metrics.json into its own run directory (outputs/eval/<date>_<time>/).
"""

from lenetlab.cli.launch import launch

if __name__ == "__main__":
    launch("lenetlab.commands.evaluate", config_name="eval")
