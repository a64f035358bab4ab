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
    """How ``pretrained:<name>`` was made (its .json)."""
    return json.loads((FOLDER / f"{name}.json").read_text())
