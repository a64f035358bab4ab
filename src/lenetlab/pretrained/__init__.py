"""Models that ship trained: ``ckpt_path=pretrained:<name>`` in eval, predict, export and demo.

Each ``<name>.ckpt`` here is a lenetlab checkpoint of a shipped recipe trained on real MNIST,
with its weights and the hyperparameters of its model and data (no optimizer state), and
``<name>.json`` beside it records how it was made: the command, seed, date, machine and its
test accuracy (scripts/ship_pretrained.py writes both). Light: the config checks read it
before torch is imported.
"""

import json
from pathlib import Path

PREFIX = "pretrained:"
FOLDER = Path(__file__).parent
DEFAULT = "lenet_tanh"  # the default recipe's model (python src/train.py)


def names() -> list[str]:
    return sorted(path.stem for path in FOLDER.glob("*.ckpt"))


def is_pretrained(ckpt_path: str) -> bool:
    return isinstance(ckpt_path, str) and ckpt_path.startswith(PREFIX)


def checkpoint_file(ckpt_path: str | Path) -> Path:
    """``pretrained:<name>`` -> the shipped file (which may not exist: the checks say so);
    any other path as it is."""
    if is_pretrained(str(ckpt_path)):
        return FOLDER / f"{str(ckpt_path)[len(PREFIX) :]}.ckpt"
    return Path(ckpt_path)


def record(name: str) -> dict:
    """How ``pretrained:<name>`` was made (its .json); ``name`` with or without the prefix."""
    return json.loads(checkpoint_file(PREFIX + name.removeprefix(PREFIX)).with_suffix(".json")
                      .read_text())  # fmt: skip


def describe(ckpt_path: str) -> str:
    """'pretrained:lenet_tanh: python src/train.py seed=1, 99.12 % on the MNIST test set', or
    the path of a checkpoint of one's own."""
    if not is_pretrained(ckpt_path):
        return str(ckpt_path)
    made = record(ckpt_path)
    return f"{ckpt_path}: {made['command']}, {made['test/acc']:.2%} on the MNIST test set"
