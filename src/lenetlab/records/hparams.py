"""A run's hyperparameters and final metrics in TensorBoard's HPARAMS tab, swept ones first.

The tab opens on five hyperparameter columns and five metric columns: the hyperparameters marked
``differs`` first, then the rest by name. One run cannot see what differs across runs, but a
multirun can: the sweep's ``multirun.yaml`` holds the command line's sweep overrides
(``model=lenet_sigmoid,lenet_relu``) and the sweeper's ``params`` (Optuna's search space). Every
job marks those keys ``differs``, and for a swept group choice also the group's keys its choices
set differently (``model/activation``), so a sweep's table opens on what it varies and on the
metrics the run ends with.
"""

import logging
from collections.abc import Container
from pathlib import Path

from hydra import compose
from hydra.core.hydra_config import HydraConfig
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.override_parser.types import Override, ValueType
from hydra.errors import HydraException
from hydra.types import RunMode
from lightning.pytorch.loggers import Logger, TensorBoardLogger
from omegaconf import DictConfig, ListConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException
from tensorboard.compat.proto.summary_pb2 import Summary
from tensorboard.plugins.hparams.plugin_data_pb2 import HParamsPluginData
from torch.utils.tensorboard.summary import hparams

log = logging.getLogger(__name__)

# Config groups whose values are a run's hyperparameters, and those named by their choice too.
HPARAM_GROUPS = ("model", "optimizer", "scheduler", "data")
CHOICE_GROUPS = ("experiment", "model", "data", "debug")
HPARAM_SKIP = {"data_dir", "download", "input_mean", "input_std", "mean", "std"}
CHOICE_SWEEPS = (ValueType.CHOICE_SWEEP, ValueType.SIMPLE_CHOICE_SWEEP)


def log_hparams(
    logger: Logger, cfg: DictConfig, metrics: dict, step: int, logged: Container = ()
) -> None:
    """The run's hyperparameters and its final ``metrics`` (those not ``logged`` at this step
    already, as the test's are), for any logger; in TensorBoard also the run's row in HPARAMS
    (the swept hyperparameters marked ``differs``, the metrics in their order)."""
    sweeps = sweep_overrides()
    params = run_hparams(cfg, [sweep.key_or_group for sweep in sweeps])
    logger.log_hyperparams(params)  # kept in the logger's hparams.yaml
    logger.log_metrics({name: v for name, v in metrics.items() if name not in logged}, step)
    if not isinstance(logger, TensorBoardLogger):
        return
    experiment, session_start, session_end = hparams(params, metrics)
    mark_differs(experiment, swept_hparams(sweeps))
    writer = logger.experiment._get_file_writer()
    for summary in (experiment, session_start, session_end):
        writer.add_summary(summary, step)


def run_hparams(cfg: DictConfig, swept_keys=()) -> dict:
    """The hyperparameters that tell runs apart (``{"model": "lenet_tanh", "model/activation":
    "tanh", ...}``), and the value of every swept key."""
    params = {"seed": cfg.seed}
    if cfg.get("tags"):
        params["tags"] = ",".join(map(str, cfg.tags))
    choices = HydraConfig.get().runtime.choices if HydraConfig.initialized() else {}
    for group in CHOICE_GROUPS:
        if choices.get(group):
            params[group] = choices[group]
    for group in HPARAM_GROUPS:
        node = cfg.get(group)
        values = OmegaConf.to_container(node, resolve=True) if node is not None else {}
        if group in ("optimizer", "scheduler"):  # e.g. optimizer: SGD, scheduler: none
            params[group] = values.get("_target_", "none").rsplit(".", 1)[-1]
        for key, value in values.items():
            if not key.startswith("_") and key not in HPARAM_SKIP and not isinstance(value, dict):
                params[f"{group}/{key}"] = value
    params["trainer/max_epochs"] = cfg.trainer.max_epochs
    params["trainer/precision"] = str(cfg.trainer.precision)
    for key in swept_keys:  # e.g. trainer.gradient_clip_val or trainer=ddp: outside the groups
        name = key.replace(".", "/")
        value = choices[key] if key in choices else OmegaConf.select(cfg, key, default=None)
        if name not in params and not isinstance(value, DictConfig):
            params[name] = value
    return {name: tensorboard_value(value) for name, value in params.items()}


def tensorboard_value(value):
    """A value TensorBoard's HPARAMS takes: a bool, number or string."""
    if isinstance(value, ListConfig):
        value = OmegaConf.to_container(value)
    return value if isinstance(value, bool | int | float | str) else str(value)


def sweep_overrides() -> list[Override]:
    """The overrides this job's multirun sweeps over (``model=lenet_sigmoid,lenet_relu``);
    none outside a multirun."""
    if not HydraConfig.initialized() or HydraConfig.get().mode != RunMode.MULTIRUN:
        return []
    multirun_yaml = Path(HydraConfig.get().runtime.output_dir).parent / "multirun.yaml"
    if not multirun_yaml.is_file():  # a launcher that keeps no sweep folder
        return []
    hydra_cfg = OmegaConf.load(multirun_yaml).hydra
    overrides = list(hydra_cfg.overrides.task)
    params = hydra_cfg.sweeper.get("params") or {}
    overrides += [f"{key}={value}" for key, value in params.items()]
    parsed = OverridesParser.create().parse_overrides(overrides)
    return [override for override in parsed if override.is_sweep_override()]


def swept_hparams(sweeps: list[Override]) -> set[str]:
    """The hyperparameter names the sweeps vary: their keys, and for a sweep over a group's
    choices (``model=lenet_sigmoid,lenet_relu``) the group's keys the choices set differently."""
    names = {sweep.key_or_group.replace(".", "/") for sweep in sweeps}
    for sweep in sweeps:
        group = sweep.key_or_group
        if group in HPARAM_GROUPS and sweep.value_type in CHOICE_SWEEPS:
            try:
                names |= {f"{group}/{key}" for key in keys_set_differently(group, sweep)}
            except (HydraException, OmegaConfBaseException) as error:
                # A choice that does not compose beside this job's overrides: a column order
                # is not worth failing a finished run over.
                log.warning("HPARAMS: not marking what %s's choices change: %s", group, error)
    return names


def keys_set_differently(group: str, sweep: Override) -> set[str]:
    """The keys of ``group`` whose values differ between the sweep's choices, each composed
    with this job's other overrides."""
    hydra_cfg = HydraConfig.get()
    typed = OmegaConf.to_container(hydra_cfg.overrides.task, resolve=False)  # ${...} as given
    others = [o for o in typed if o.split("=", 1)[0].lstrip("+~") != group]
    groups = []
    for choice in sweep.sweep_string_iterator():
        overrides = [*others, f"{group}={choice}"]
        composed = compose(config_name=hydra_cfg.job.config_name, overrides=overrides)
        groups.append(OmegaConf.to_container(composed[group]))
    keys = set().union(*groups)
    return {key for key in keys if len({repr(values.get(key)) for values in groups}) > 1}


def mark_differs(experiment: Summary, names: set[str]) -> None:
    """Marks the hyperparameters ``names`` in an experiment summary as ones that differ."""
    plugin_data = experiment.value[0].metadata.plugin_data
    content = HParamsPluginData.FromString(plugin_data.content)
    for info in content.experiment.hparam_infos:
        info.differs = info.name in names
    plugin_data.content = content.SerializeToString()
