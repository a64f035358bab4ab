"""Check a composed config's values before any data is read or model built: one line per
mistake, naming the key, the value and what is allowed.

Hydra itself rejects unknown groups, choices and keys (see ``errors.run_hydra_app``); this catches
values of the right key but the wrong type or range, e.g. ``trainer.max_epochs=ten``,
``data.batch_size=0``, ``optimizer.lr=-1``, ``data.val_fraction=1.5``, ``model.activation=tanhh``.
"""

from numbers import Real

from omegaconf import DictConfig, OmegaConf

from lenetlab.data import AUGMENTATIONS, SOURCES
from lenetlab.errors import UsageError
from lenetlab.lenet5 import ACTIVATIONS, C3_CHOICES, HEADS, INITS, NORMS, POOLS


def whole(low: int):
    is_whole = lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= low  # noqa: E731
    return is_whole, f"a whole number >= {low}"


def number(test, allowed: str):
    return lambda v: isinstance(v, Real) and not isinstance(v, bool) and test(v), allowed


def one_of(choices):
    choices = tuple(choices)
    names = ", ".join("null" if c is None else str(c) for c in choices)
    return lambda v: v in choices, f"one of {names}"


RULES = {
    "seed": whole(0),
    "data.dataset": one_of(SOURCES),
    "data.batch_size": whole(1),
    "data.eval_batch_size": whole(1),
    "data.val_fraction": number(lambda v: 0 < v < 1, "a number between 0 and 1 (exclusive)"),
    "data.augment": one_of(AUGMENTATIONS),
    "model.activation": one_of(ACTIVATIONS),
    "model.pool": one_of(POOLS),
    "model.c3": one_of(C3_CHOICES),
    "model.head": one_of(HEADS),
    "model.init": one_of(INITS),
    "model.norm": one_of(NORMS),
    "model.input_std": number(lambda v: v > 0, "a number > 0"),
    "optimizer.lr": number(lambda v: v > 0, "a number > 0"),
    "optimizer.weight_decay": number(lambda v: v >= 0, "a number >= 0"),
    "optimizer.momentum": number(lambda v: 0 <= v < 1, "a number in [0, 1)"),
    "trainer.max_epochs": (
        lambda v: whole(1)[0](v) or v == -1,
        "a whole number >= 1 (or -1: no limit)",
    ),
    "trainer.devices": (
        lambda v: v == "auto" or (isinstance(v, int) and v >= 1) or OmegaConf.is_list(v),
        "a whole number >= 1, a list of device indices, or auto",
    ),
    "trainer.precision": one_of(
        ["32-true", "16-mixed", "bf16-mixed", "16-true", "bf16-true", "64-true"]
        + ["32", 32, "16", 16, "bf16", "64", 64, "transformer-engine"]
    ),
    "trainer.accelerator": one_of(["auto", "cpu", "gpu", "cuda", "mps", "tpu", "hpu"]),
    "trainer.gradient_clip_val": (
        lambda v: v is None or (isinstance(v, Real) and not isinstance(v, bool) and v > 0),
        "null or a number > 0",
    ),
}


def check_config(cfg: DictConfig) -> None:
    """Raise UsageError on the first value that breaks a rule (keys that are absent pass)."""
    for key, (is_valid, allowed) in RULES.items():
        value = OmegaConf.select(cfg, key, default="<absent>")
        if value == "<absent>":
            continue
        if not is_valid(value):
            shown = f"'{value}'" if isinstance(value, str) else value
            raise UsageError(f"{key}={shown} is not valid: use {allowed}")
