"""Check a composed config's values before any data is read or model built: one line per
mistake, naming the key, the value and what is allowed.

Hydra itself rejects unknown groups, choices and keys (printed by ``runs.launch``); this
catches values of the right key but the wrong type or range, e.g. ``trainer.max_epochs=ten``,
``data.batch_size=0``, ``optimizer.lr=-1``, ``data.val_fraction=1.5``, ``model.activation=tanhh``.
"""

import re
from numbers import Real

from lightning.pytorch.strategies import StrategyRegistry
from omegaconf import DictConfig, OmegaConf

from lenetlab.data.datamodule import AUGMENTATIONS
from lenetlab.data.sources import SOURCES
from lenetlab.errors import UsageError
from lenetlab.models.lenet5 import PARTS
from lenetlab.models.module import EPOCH_METRICS
from lenetlab.runs.results import RESULT_METRICS


def whole(low: int):
    is_whole = lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= low  # noqa: E731
    return is_whole, f"a whole number >= {low}"


def number(test, allowed: str):
    return lambda v: isinstance(v, Real) and not isinstance(v, bool) and test(v), allowed


def one_of(choices):
    choices = tuple(choices)
    names = ", ".join("null" if c is None else str(c) for c in choices)
    return lambda v: v in choices, f"one of {names}"


def optional(rule):
    is_valid, allowed = rule
    return lambda v: v is None or is_valid(v), f"null or {allowed}"


BOOL = (lambda v: isinstance(v, bool), "true or false")
POSITIVE = number(lambda v: v > 0, "a number > 0")
NON_NEGATIVE = number(lambda v: v >= 0, "a number >= 0")
FRACTION = number(lambda v: 0 < v < 1, "a number between 0 and 1 (exclusive)")

# Every value key of every shipped config group, except UNCHECKED ones; a test holds this table
# to the files in conf/ (tests/test_config_checks.py), so a new key needs a rule.
RULES = {
    "seed": whole(0),
    "optimized_metric": one_of(RESULT_METRICS),
    "test": BOOL,
    "test_checkpoint": one_of(("best", "last")),
    "compile": BOOL,
    # data
    "data.dataset": one_of(SOURCES),
    "data.download": BOOL,
    "data.batch_size": whole(1),
    "data.eval_batch_size": whole(1),
    "data.val_fraction": FRACTION,
    "data.split_seed": whole(0),
    "data.mean": number(lambda v: 0 <= v <= 1, "a number in [0, 1]"),
    "data.std": POSITIVE,
    "data.augment": one_of(AUGMENTATIONS),
    "data.distortions.rotate_deg": number(lambda v: 0 <= v < 90, "a number in [0, 90)"),
    "data.distortions.shear_deg": number(lambda v: 0 <= v < 90, "a number in [0, 90)"),
    "data.distortions.scale": number(lambda v: 0 <= v < 1, "a number in [0, 1)"),
    "data.distortions.translate_px": NON_NEGATIVE,
    "data.distortions.elastic_alpha": NON_NEGATIVE,
    "data.distortions.elastic_sigma": POSITIVE,
    # model
    **{f"model.{part}": one_of(choices) for part, choices in PARTS.items()},
    "model.dropout": number(lambda v: 0 <= v < 1, "a number in [0, 1)"),
    "model.num_classes": whole(2),
    "model.channels_last": BOOL,
    "model.input_mean": number(lambda v: True, "a number"),
    "model.input_std": POSITIVE,
    "model.rubbish_j": optional(POSITIVE),
    "model.grad_clip_norm": optional(POSITIVE),
    # optimizer, scheduler
    "optimizer.lr": POSITIVE,
    "optimizer.weight_decay": NON_NEGATIVE,
    "optimizer.momentum": number(lambda v: 0 <= v < 1, "a number in [0, 1)"),
    "optimizer.nesterov": BOOL,
    "optimizer.mu": POSITIVE,
    "scheduler.interval": one_of(["epoch", "step"]),
    "scheduler.T_max": whole(1),
    "scheduler.max_lr": POSITIVE,
    "scheduler.total_steps": optional(whole(1)),
    "scheduler.pct_start": FRACTION,
    "scheduler.step_size": whole(1),
    "scheduler.gamma": number(lambda v: 0 < v <= 1, "a number in (0, 1]"),
    "scheduler.factor": number(lambda v: 0 < v <= 1, "a number in (0, 1]"),
    "scheduler.total_iters": whole(0),
    # trainer
    "trainer.max_epochs": (
        lambda v: whole(1)[0](v) or v == -1,
        "a whole number >= 1 (or -1: no limit)",
    ),
    "trainer.accelerator": one_of(["auto", "cpu", "gpu", "cuda", "mps", "tpu", "hpu"]),
    "trainer.devices": (
        lambda v: v == "auto" or (isinstance(v, int) and v >= 1) or OmegaConf.is_list(v),
        "a whole number >= 1, a list of device indices, or auto",
    ),
    "trainer.strategy": one_of(["auto", *StrategyRegistry.available_strategies()]),
    "trainer.precision": one_of(
        ["32-true", "16-mixed", "bf16-mixed", "16-true", "bf16-true", "64-true"]
        + ["32", 32, "16", 16, "bf16", "64", 64, "transformer-engine"]
    ),
    "trainer.fast_dev_run": (
        lambda v: isinstance(v, bool) or whole(1)[0](v),
        "true, false or a number of batches >= 1",
    ),
    "trainer.gradient_clip_val": optional(POSITIVE),
    "trainer.log_every_n_steps": whole(1),
    "trainer.deterministic": (lambda v: isinstance(v, bool) or v == "warn", "true, false or warn"),
    "trainer.enable_progress_bar": BOOL,
    "trainer.enable_model_summary": BOOL,
    "trainer.sync_batchnorm": BOOL,
    # callbacks, logger
    "callbacks.model_checkpoint.monitor": one_of(EPOCH_METRICS),
    "callbacks.model_checkpoint.mode": one_of(["max", "min"]),
    "callbacks.model_checkpoint.save_top_k": whole(1),
    "callbacks.model_checkpoint.auto_insert_metric_name": BOOL,
    "callbacks.last_checkpoint.save_top_k": whole(1),
    "callbacks.last_checkpoint.enable_version_counter": BOOL,
    "callbacks.early_stopping.monitor": one_of(EPOCH_METRICS),
    "callbacks.early_stopping.mode": one_of(["max", "min"]),
    "callbacks.early_stopping.patience": whole(1),
    "callbacks.early_stopping.min_delta": NON_NEGATIVE,
    "callbacks.chance_watch.patience": whole(1),
    "callbacks.chance_watch.margin": NON_NEGATIVE,
    "callbacks.chance_watch.stop": BOOL,
    "callbacks.ema.decay": FRACTION,
    "callbacks.lr_monitor.logging_interval": one_of([None, "step", "epoch"]),
    "callbacks.timer.duration": (
        lambda v: v is None or (isinstance(v, str) and re.fullmatch(r"\d+:\d\d:\d\d:\d\d", v)),
        "null or a duration DD:HH:MM:SS, e.g. 00:11:30:00",
    ),
    "callbacks.timer.interval": one_of(["step", "epoch"]),
    "callbacks.timer.verbose": BOOL,
    "callbacks.prediction_images.samples": whole(0),
    "callbacks.prediction_images.worst": whole(0),
    "logger.tensorboard.log_graph": BOOL,
    "logger.tensorboard.default_hp_metric": BOOL,
}

# Keys with no rule: Hydra's instantiation keys, free-form names and paths (any string will do),
# and values checked where they are used (runs/resume.py checks resume=<run dir>).
UNCHECKED_NAMES = {"_target_", "_convert_", "_recursive_", "dirpath", "filename",
                   "save_dir", "name", "version"}  # fmt: skip
UNCHECKED_KEYS = {"task_name", "resume", "data.data_dir", "model.optimizer", "model.scheduler",
                  "trainer.default_root_dir", "trainer.plugins"}  # fmt: skip


def is_unchecked(key: str) -> bool:
    return (
        key.rsplit(".", 1)[-1] in UNCHECKED_NAMES
        or key in UNCHECKED_KEYS
        or key.startswith("paths.")
    )


def check_config(cfg: DictConfig) -> None:
    """Raise UsageError on the first value that breaks a rule (keys that are absent pass).

    A value copied from another key (``scheduler.T_max: ${trainer.max_epochs}``) is left to that
    key's rule, so the line names the key the user set.
    """
    for key, (is_valid, allowed) in RULES.items():
        parent_key, _, name = key.rpartition(".")
        parent = OmegaConf.select(cfg, parent_key) if parent_key else cfg
        if not OmegaConf.is_dict(parent) or name not in parent:
            continue
        if OmegaConf.is_interpolation(parent, name):
            continue
        value = parent[name]
        if not is_valid(value):
            shown = f"'{value}'" if isinstance(value, str) else value
            raise UsageError(f"{key}={shown} is not valid: use {allowed}")
