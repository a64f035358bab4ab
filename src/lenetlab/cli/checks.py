"""One place that answers "is this config valid?" for every command, before the command imports
torch or Lightning: the first mistake is one line that names the key and what to do.

In the order a user meets them:
- a required key left ``???`` (``ckpt_path`` of eval.py);
- a key removed with ``~key`` that the command needs;
- a key no code takes, in any override form (``+data.num_workers=4``): a key is known when the
  ``_target_`` of its node names it (cli/signatures.py reads the signature without importing
  it) or when RULES below has it; the line names the known keys nearby;
- a value of the wrong type or range (RULES: ``trainer.max_epochs=ten``, ``data.batch_size=0``);
- a device request this machine cannot serve (training/devices.py);
- a tracker it cannot log to (records/trackers.py).
Hydra's own mistakes (an unknown group choice, an override it cannot parse, a key without ``+``)
are turned into their line by cli/launch.py, with the same nearby keys (``unknown_key``).
"""

import difflib
import re
from numbers import Real
from pathlib import Path

from hydra.core.hydra_config import HydraConfig
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.override_parser.types import OverrideType
from hydra.errors import ConfigCompositionException
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import ConfigAttributeError, ConfigKeyError

from lenetlab import pretrained
from lenetlab.choices import (
    AUGMENTATIONS,
    DATASETS,
    EPOCH_METRICS,
    EXPORT_FORMATS,
    PARTS,
    RESULT_METRICS,
)
from lenetlab.cli.signatures import Signature, signature
from lenetlab.errors import UsageError
from lenetlab.records.trackers import check_trackers
from lenetlab.training import devices

CONF_DIR = Path(__file__).resolve().parents[3] / "conf"  # the repository's conf/
# Hydra's own keys in a node it instantiates.
INSTANTIATE_KEYS = {"_target_", "_convert_", "_recursive_", "_partial_", "_args_"}
# Groups whose entries are whole configs of their own (``callbacks.<name>: {_target_: ...}``).
ENTRY_GROUPS = ("callbacks", "logger")


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
ACCELERATORS, STRATEGIES = devices.ACCELERATORS, devices.STRATEGIES
BATCHES = number(lambda v: v >= 0 and (isinstance(v, int) or v <= 1),
                 "a number of batches, or a fraction of them between 0 and 1")  # fmt: skip

NAME = ((lambda v: isinstance(v, str) and v != ""), "a name")
TAGS = (
    lambda v: OmegaConf.is_list(v) and all(isinstance(t, str | int) for t in v),
    "a list of names, e.g. tags=[baseline,paper]",
)

# Every value key of every shipped config, except UNCHECKED ones; a test holds this table to the
# files in conf/ (tests/cli/test_checks.py), so a new key needs a rule.
RULES = {
    "seed": whole(0),
    "optimized_metric": one_of(RESULT_METRICS),
    "test": BOOL,
    "test_checkpoint": one_of(("best", "last")),
    "compile": BOOL,
    "compile_mode": one_of(
        ["default", "reduce-overhead", "max-autotune", "max-autotune-no-cudagraphs"]
    ),
    # data
    "data.dataset": one_of(DATASETS),
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
    "trainer.accelerator": one_of(ACCELERATORS),
    "trainer.devices": (
        lambda v: v == "auto" or (isinstance(v, int) and v >= 1) or OmegaConf.is_list(v),
        "a whole number >= 1, a list of device indices, or auto",
    ),
    "trainer.strategy": one_of(STRATEGIES),
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
    # debug presets (conf/debug/)
    "trainer.overfit_batches": BATCHES,
    "trainer.limit_train_batches": optional(BATCHES),
    "trainer.limit_val_batches": optional(BATCHES),
    "trainer.limit_test_batches": optional(BATCHES),
    "trainer.check_val_every_n_epoch": optional(whole(1)),
    "trainer.detect_anomaly": BOOL,
    # callbacks, logger
    "callbacks.model_checkpoint.monitor": one_of(EPOCH_METRICS),
    "callbacks.model_checkpoint.mode": one_of(["max", "min"]),
    "callbacks.model_checkpoint.save_top_k": whole(1),
    "callbacks.model_checkpoint.auto_insert_metric_name": BOOL,
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
    "callbacks.progress_bar.refresh_rate": whole(0),  # 0: no bar
    "callbacks.prediction_images.samples": whole(0),
    "callbacks.prediction_images.worst": whole(0),
    "callbacks.feature_maps.every_n_epochs": whole(1),
    "callbacks.feature_maps.samples": whole(0),
    "logger.tensorboard.log_graph": BOOL,
    "logger.tensorboard.default_hp_metric": BOOL,
    "logger.mlflow.tracking_uri": (
        lambda v: isinstance(v, str) and re.match(r"(sqlite:///|file:|https?://)\S+", v),
        "a tracking store: sqlite:///outputs/mlflow.db or a server, http://<host>:<port>",
    ),
    "logger.mlflow.experiment_name": NAME,
    "logger.mlflow.tags": TAGS,
    "logger.mlflow.log_checkpoints": BOOL,
    "logger.wandb.project": NAME,
    "logger.wandb.entity": optional(NAME),
    "logger.wandb.mode": one_of([None, "online", "offline", "disabled"]),
    "logger.wandb.tags": TAGS,
    "tags": TAGS,
    # eval.py, predict.py, export.py, summarize.py
    "ckpt_path": (
        lambda v: isinstance(v, str) and pretrained.checkpoint_file(v).is_file(),
        "an existing checkpoint file (a run's are in outputs/<run>/checkpoints/) or a model "
        f"that ships trained: {', '.join(pretrained.PREFIX + n for n in pretrained.names())}",
    ),
    "dataset": one_of((None, *DATASETS)),  # null: the checkpoint's
    "batch_size": optional(whole(1)),  # null: the checkpoint's
    "inputs": (
        lambda v: all(Path(p).exists() for p in ([v] if isinstance(v, str) else v)),
        "image files and folders that exist, e.g. inputs=[digit.png,photos/]",
    ),
    "num_workers": whole(0),
    "format": one_of(EXPORT_FORMATS),
    "opset": whole(18),
    "check_images": whole(1),
    "sweep_dir": (
        lambda v: isinstance(v, str) and any(Path(v).glob("*/.hydra/config.yaml")),
        "a folder a multirun wrote, e.g. outputs/multirun/<date>_<time>",
    ),
    "metric": optional((lambda v: isinstance(v, str), "a metric's name, e.g. test/acc")),
    "mode": one_of(["max", "min"]),
    # demo.py
    "host": ((lambda v: isinstance(v, str) and v != ""), "an address to serve on, e.g. 127.0.0.1"),
    "port": number(lambda v: isinstance(v, int) and 1 <= v <= 65535, "a port, 1-65535"),
}

# Keys whose meaning differs between commands: a rule per command (conf/<command>.yaml).
COMMAND_RULES = {
    "predict": {"output": optional((
        lambda v: isinstance(v, str) and Path(v).suffix in (".json", ".csv"),
        "a .json or .csv file to write the rows to",
    ))},
    "export": {"output": optional((
        lambda v: isinstance(v, str) and Path(v).parent.is_dir(),
        "a file in a folder that exists (null: next to the checkpoint)",
    ))},
}  # fmt: skip


# Keys with no rule: Hydra's instantiation keys, free-form names and paths (any string will do),
# and values checked where they are used (cli/resume.py checks resume=<run dir>).
UNCHECKED_NAMES = {*INSTANTIATE_KEYS, "dirpath", "filename", "save_dir", "run_dir", "name",
                   "version"}  # fmt: skip
UNCHECKED_KEYS = {"task_name", "resume", "data.data_dir", "data_dir", "model.optimizer",
                  "model.scheduler", "trainer.default_root_dir", "trainer.plugins"}  # fmt: skip


def is_unchecked(key: str) -> bool:
    return (
        key.rsplit(".", 1)[-1] in UNCHECKED_NAMES
        or key in UNCHECKED_KEYS
        or key.startswith("paths.")
    )


def check_config(cfg: DictConfig, command: str) -> None:
    """Raise UsageError on the first mistake in ``cfg``, the composed config of ``command``
    (its conf/<command>.yaml); the ``hydra`` node is Hydra's own to check."""
    check_required(cfg, command)
    check_removed(cfg, command)
    check_known_keys(cfg, command)
    check_values(cfg, command)
    if "trainer" in cfg:
        check_devices(cfg)
    check_trackers(cfg)  # a missing package, a tracking server that is down


def check_required(cfg: DictConfig, command: str) -> None:
    own = OmegaConf.masked_copy(cfg, [key for key in cfg if key != "hydra"])
    missing = sorted(OmegaConf.missing_keys(own))
    if missing:
        given = " ".join(f"{key}=..." for key in missing)
        raise UsageError(
            f"{missing[0]} is required: python src/{command}.py {given} (conf/{command}.yaml)"
        )


def check_removed(cfg: DictConfig, command: str) -> None:
    """``~key`` may remove an entry of callbacks or logger, or an argument that has a default;
    anything else the command reads."""
    if not HydraConfig.initialized():
        return
    typed = OmegaConf.to_container(HydraConfig.get().overrides.task, resolve=False)  # ${...} kept
    parsed = OverridesParser.create().parse_overrides(typed)
    for override in parsed:
        if override.type != OverrideType.DEL:
            continue
        key = override.key_or_group
        parent_key, _, name = key.rpartition(".")
        if parent_key in ENTRY_GROUPS or key in ENTRY_GROUPS:
            continue
        parent = OmegaConf.select(cfg, parent_key) if parent_key else None
        target = parent.get("_target_") if OmegaConf.is_dict(parent) else None
        taken = signature(target) if isinstance(target, str) else None
        if taken is not None and name in taken.names and name not in taken.required:
            continue  # the class's default applies
        raise UsageError(f"~{key}: {command}.py needs {key}; set it to a value instead ({key}=...)")


def check_removed_groups(overrides: list[str], command: str, conf_dir: Path) -> None:
    """``~data`` on the command line, before Hydra composes without the group (a run folder
    named after the group's choice cannot even be named then)."""
    arguments = [o for o in overrides if not o.startswith("-")]
    try:
        parsed = OverridesParser.create().parse_overrides(arguments)
    except Exception:  # Hydra says what cannot be parsed, in its own words
        return
    for override in parsed:
        group = override.key_or_group
        if override.type == OverrideType.DEL and (conf_dir / group).is_dir():
            raise UsageError(
                f"~{group}: {command}.py needs a {group} choice; pick another with {group}=<name>"
            )


def check_known_keys(cfg: DictConfig, command: str) -> None:
    own = command_keys(command)
    for key, taken in walk(cfg, "", None):
        known = key in own if "." not in key else is_known(key, taken)
        if not known:
            raise UsageError(unknown_key(key, cfg))


def command_keys(command: str) -> set[str]:
    """The top-level keys of conf/<command>.yaml: its own and its groups'."""
    conf = OmegaConf.load(CONF_DIR / f"{command}.yaml")
    entries = [next(iter(e)) for e in conf.get("defaults", []) if OmegaConf.is_dict(e)]
    groups = {entry.removeprefix("override ").strip("/").split("/")[0] for entry in entries}
    return (set(conf) - {"defaults"}) | groups


def walk(node: DictConfig, prefix: str, taken: Signature | None):
    """(dotted key, the signature of its node's ``_target_``) for every key under ``node``,
    without resolving interpolations."""
    for name in node:
        key = f"{prefix}{name}"
        if key == "hydra" or name in INSTANTIATE_KEYS:
            continue
        yield key, taken
        child = node._get_node(name)
        if OmegaConf.is_dict(child) and not OmegaConf.is_interpolation(node, name):
            target = child.get("_target_")
            child_taken = ANY_KEY if "_target_" in child else None
            if isinstance(target, str):
                child_taken = signature(target) or ANY_KEY  # unreadable source: trust it
            yield from walk(child, key + ".", child_taken)


ANY_KEY = Signature((), (), any_keyword=True)


def is_known(key: str, taken: Signature | None) -> bool:
    name = key.rsplit(".", 1)[-1]
    # Only the keys a signature names: those a class keeps in **kwargs for later (a logger's,
    # for its writer) would fail mid-run, not here. An unreadable source is trusted (ANY_KEY).
    if taken is not None and (taken is ANY_KEY or name in taken.names):
        return True
    if (
        key in RULES
        or is_unchecked(key)
        or is_unchecked(key + ".")
        or key.rpartition(".")[0] in ENTRY_GROUPS
    ):
        return True
    # a node holding known keys (data.distortions)
    return any(k.startswith(key + ".") for k in (*RULES, *UNCHECKED_KEYS))


def known_keys_under(node: DictConfig | None) -> list[str]:
    """The keys a node may hold: those it has and those its ``_target_`` takes."""
    if not OmegaConf.is_dict(node):
        return []
    names = [n for n in node if n not in INSTANTIATE_KEYS and n != "hydra"]
    target = node.get("_target_")
    taken = signature(target) if isinstance(target, str) else None
    return names + [n for n in (taken.names if taken else ()) if n not in names]


def unknown_key(key: str, cfg: DictConfig) -> str:
    parent_key = key.rpartition(".")[0]
    parent = OmegaConf.select(cfg, parent_key) if parent_key else cfg
    return unknown_key_line(key, parent, [k for k, _ in walk(cfg, "", None)])


def unknown_key_line(key: str, parent: DictConfig | None, others: list[str] = ()) -> str:
    """The line for a key that nothing takes: the known keys nearest to it (beside it, or of
    the same name elsewhere in the config: ``others``)."""
    parent_key, _, name = key.rpartition(".")
    siblings = [n for n in known_keys_under(parent) if n != name]
    close = difflib.get_close_matches(name, siblings, n=3, cutoff=0.6)
    elsewhere = sorted(k for k in others if k.rsplit(".", 1)[-1] == name and k != key)
    prefix = f"{parent_key}." if parent_key else ""
    if close:
        hint = "did you mean " + " or ".join(prefix + c for c in close) + "?"
    elif elsewhere:
        hint = "did you mean " + " or ".join(elsewhere) + "?"
    else:
        hint = f"{parent_key or 'the config'} has {', '.join(siblings)}"
    return f"{key} is not a key lenetlab knows: {hint}"


def unknown_override(error: BaseException) -> UsageError | None:
    """Hydra's refusal of ``key=value`` for a key the config does not have, as the line for an
    unknown key; None where the key's ``_target_`` takes it (Hydra's advice, to add it with
    ``+key=value``, is then the right one)."""
    cause = error.__cause__
    if not isinstance(error, ConfigCompositionException) or not isinstance(
        cause, ConfigAttributeError | ConfigKeyError
    ):
        return None
    parent, key = cause.parent_node, cause.full_key
    if not OmegaConf.is_dict(parent) or not key:
        return None
    target = parent.get("_target_")
    if isinstance(target, str):
        taken = signature(target)
        if taken is None or key.rsplit(".", 1)[-1] in taken.names:
            return None  # it takes the key (or its source cannot say, as in check_known_keys)
    return UsageError(unknown_key_line(key, parent))


def check_values(cfg: DictConfig, command: str) -> None:
    """The first value that breaks a rule (keys that are absent pass). A value copied from
    another key (``scheduler.T_max: ${trainer.max_epochs}``) is left to that key's rule, so the
    line names the key the user set."""
    rules = RULES | COMMAND_RULES.get(command, {})
    for key, (is_valid, allowed) in rules.items():
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


def check_devices(cfg: DictConfig) -> None:
    """One line, before any work, for a request this machine cannot serve."""
    trainer = cfg.trainer
    accelerator, wanted = trainer.get("accelerator", "auto"), trainer.get("devices", "auto")
    gpus = devices.gpus_available() if accelerator != "cpu" else 0
    if accelerator in devices.GPU_NAMES and gpus == 0:
        raise UsageError(
            f"trainer.accelerator={accelerator}: {devices.machine()}; train on the CPU with "
            "trainer.accelerator=cpu (or auto, which uses a GPU where there is one)"
        )
    count = devices.device_count(trainer)
    if devices.on_gpu(trainer):
        indices = [int(d) for d in wanted] if OmegaConf.is_list(wanted) else []
        if count > gpus or any(d >= gpus for d in indices):
            raise UsageError(
                f"trainer.devices={wanted}: {devices.machine()}; ask for at most {gpus} "
                f"(trainer.devices={gpus}), or for GPUs 0-{gpus - 1} by index"
            )
    if count > 1 and trainer.get("strategy") != "ddp":
        raise UsageError(
            f"trainer.devices={wanted} trains on {count} devices, one process each: "
            "add trainer=ddp (python src/train.py trainer=ddp trainer.devices=...)"
        )
    batch = cfg.get("data", {}).get("batch_size")
    if isinstance(batch, int) and count > 1 and batch % count:
        raise UsageError(
            f"data.batch_size={batch} does not split evenly over {count} processes "
            f"(trainer.devices={wanted}): choose a multiple of {count}"
        )
