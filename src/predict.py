"""Classify your own pictures with a trained checkpoint.

    python src/predict.py ckpt_path=outputs/<run>/checkpoints/best.ckpt inputs=[digit.png,photos/]
    python src/predict.py ckpt_path=... inputs=photos/ output=predictions.csv

Each picture goes through MNIST's preprocessing (src/lenetlab/data/photo.py), in the geometry of the
dataset the checkpoint was trained on, then through the model's own normalisation. Prints one row
per file: the predicted class, its probability and the top 3. Folders are searched recursively for
image files. A file that cannot be read gets an error row; the rest are still predicted, and the
exit code is 1. The code: src/lenetlab/commands/predict.py.
"""

from lenetlab.cli.launch import launch

if __name__ == "__main__":
    launch("lenetlab.commands.predict", config_name="predict")
