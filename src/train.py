"""Train a LeNet-5 variant, then test its best (or last) checkpoint.

    python src/train.py model=lenet_relu data=fashion_mnist trainer.max_epochs=5
    python src/train.py -m model=lenet_sigmoid,lenet_tanh,lenet_relu
    python src/train.py resume=outputs/<run>

The run directory holds the config (.hydra/), checkpoints/, TensorBoard event files and
metrics.json. The recipe: src/lenetlab/commands/train.py.
"""

from lenetlab.cli.launch import launch

if __name__ == "__main__":
    launch("lenetlab.commands.train", config_name="train")
