"""An Optuna search as a Hydra sweeper, on Optuna's ask-and-tell interface.

    python src/train.py -m hparams_search=mnist_optuna hydra.sweeper.n_trials=30

Each trial is asked from the study, launched as a Hydra job with its parameters as overrides
(through whatever launcher is configured: basic, joblib, SLURM), and told its return value
(``optimized_metric``); a job that fails, or returns NaN, is told FAIL and the search goes on.
The study lives in ``storage``: by default a journal file in the sweep folder; with
``storage=sqlite:///outputs/optuna.db`` (or ``journal:///path/study.log``, for shared file
systems) running the same command again continues the same study, and the sampler sees every
trial so far. Why our own sweeper and not hydra-optuna-sweeper: docs/guide.md, "Optuna".
"""

import logging
import math
import os
import warnings
from pathlib import Path

import optuna
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.override_parser.types import ChoiceSweep, IntervalSweep, RangeSweep
from hydra.core.plugins import Plugins
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf
from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)
from optuna.storages import JournalStorage
from optuna.storages.journal import JournalFileBackend
from optuna.trial import TrialState

from lenetlab.environment import RUN_DIR
from lenetlab.errors import UsageError

log = logging.getLogger("lenetlab")
RESULTS_FILE = "optimization_results.yaml"
PRUNED_AT = "pruned_at_epoch"  # a trial's user attribute, set by its job (pruning.py) when pruned


class OptunaSearch:
    def __init__(
        self,
        sampler: optuna.samplers.BaseSampler | DictConfig | None = None,
        direction: str = "maximize",
        study_name: str | None = None,
        storage: str | None = None,
        n_trials: int = 20,
        n_jobs: int = 1,
        max_failure_rate: float = 1.0,
        params: DictConfig | dict | None = None,
        pruner: optuna.pruners.BasePruner | None = None,
        pruning_monitor: str = "val/acc",
    ):
        # Hydra builds the plugin's nested _target_ nodes itself: sampler arrives as a sampler.
        self.sampler = sampler if not isinstance(sampler, DictConfig) else instantiate(sampler)
        self.direction = direction
        self.study_name = study_name
        self.storage = storage
        self.n_trials = n_trials
        self.n_jobs = n_jobs
        self.max_failure_rate = max_failure_rate
        self.params = dict(params or {})
        if pruner is not None and not isinstance(pruner, optuna.pruners.BasePruner):
            raise UsageError(
                f"hydra.sweeper.pruner={pruner} is not a pruner: choose one with "
                "hydra/sweeper/pruner=median, successive_halving, hyperband or none"
            )
        self.pruner = pruner  # built by Hydra from hydra/sweeper/pruner/<choice>.yaml, or None
        self.pruning_monitor = pruning_monitor

    def setup(self, *, hydra_context, task_function, config: DictConfig) -> None:
        self.config = config
        self.launcher = Plugins.instance().instantiate_launcher(
            hydra_context=hydra_context, task_function=task_function, config=config
        )

    def sweep(self, arguments: list[str]) -> None:
        sweep_dir = Path(self.config.hydra.sweep.dir)
        sweep_dir.mkdir(parents=True, exist_ok=True)
        OmegaConf.save(self.config, sweep_dir / "multirun.yaml")
        space, fixed = search_space(self.params, arguments)
        study = optuna.create_study(
            study_name=self.study_name,
            storage=open_storage(self.storage, sweep_dir),
            sampler=self.sampler,
            pruner=self.pruner,
            direction=self.direction,
            load_if_exists=True,  # the same command again: the same study, continued
        )
        before = len(study.trials)
        if before:
            log.info("continuing study %s: %d trials so far", study.study_name, before)
        # resume=<sweep dir>: the trials this search still lacks, numbered after those it has
        # (an interrupted one was told FAIL: it is asked again); else n_trials more.
        continued = os.environ.get(RUN_DIR) == str(sweep_dir)
        ended = sum(t.state in (TrialState.COMPLETE, TrialState.PRUNED) for t in study.trials)
        to_run = max(self.n_trials - ended, 0) if continued else self.n_trials
        first_job = before if continued else 0
        job_number, failures = 0, 0
        while job_number < to_run:
            batch = min(self.n_jobs, to_run - job_number)
            trials = [study.ask(space) for _ in range(batch)]
            overrides = [
                fixed + overrides_of(trial) + self.pruning(study, trial) for trial in trials
            ]
            try:
                results = self.launcher.launch(overrides, initial_job_idx=first_job + job_number)
            except BaseException as error:  # a worker killed (joblib), Ctrl-C: no trial of the
                for trial in trials:  # batch stays RUNNING in the study
                    study.tell(trial, state=TrialState.FAIL)
                if not isinstance(error, Exception):
                    raise
                log.warning("trials %s failed: %s", [t.number for t in trials], error)
                results = [None] * batch
            attrs = {t.number: t.user_attrs for t in study.get_trials(deepcopy=False)}  # one read
            for trial, result in zip(trials, results, strict=True):
                if result is None:  # told FAIL above
                    failures += 1
                    continue
                value = returned_value(result)
                if value is None:
                    failures += 1
                    study.tell(trial, state=TrialState.FAIL)
                elif PRUNED_AT in attrs[trial.number]:  # set by its job
                    study.tell(trial, state=TrialState.PRUNED)  # not a failure
                else:
                    study.tell(trial, value)
            job_number += batch
            if failures / job_number > self.max_failure_rate:
                raise UsageError(
                    f"{failures} of {job_number} trials failed, more than "
                    f"hydra.sweeper.max_failure_rate={self.max_failure_rate}: see summary.md"
                )
        self.save_results(study, sweep_dir)

    def pruning(self, study: optuna.Study, trial: optuna.Trial) -> list[str]:
        """The overrides that make a trial's job report to the study after every epoch and stop
        when the pruner says so (callbacks.trial_pruning: lenetlab.search.pruning)."""
        if self.pruner is None or isinstance(self.pruner, optuna.pruners.NopPruner):
            return []
        callback = "+callbacks.trial_pruning"
        return [
            f"{callback}._target_=lenetlab.search.pruning.TrialPruning",
            f"{callback}.trial_id={trial._trial_id}",  # its id in the storage
            f"{callback}.study_name={study.study_name}",
            f"{callback}.monitor={self.pruning_monitor}",
        ]

    def save_results(self, study: optuna.Study, sweep_dir: Path) -> None:
        completed = [t for t in study.trials if t.state == TrialState.COMPLETE]
        pruned = [t for t in study.trials if t.state == TrialState.PRUNED]
        results = {"name": "optuna", "study_name": study.study_name, "trials": len(study.trials),
                   "pruned": len(pruned)}  # fmt: skip
        if completed:
            results |= {"best_params": study.best_params, "best_value": study.best_value}
            log.info("best %s: %s with %s", self.direction, study.best_value, study.best_params)
        OmegaConf.save(OmegaConf.create(results), sweep_dir / RESULTS_FILE)
        save_plots(study, sweep_dir)


def save_plots(study: optuna.Study, sweep_dir: Path) -> None:
    """Optuna's optimisation history and parameter importances as PNGs beside summary.md (the
    importances need two finished trials that differ)."""
    import matplotlib.pyplot as plt
    from optuna.visualization import matplotlib as plots

    finished = [t for t in study.trials if t.state == TrialState.COMPLETE]
    charts = {"optimization_history.png": plots.plot_optimization_history}
    if len(finished) >= 2:
        charts["param_importances.png"] = plots.plot_param_importances
    for name, plot in charts.items():
        try:
            with warnings.catch_warnings():  # "experimental" since Optuna 2.2, and still there
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                axes = plot(study)
        except (ValueError, RuntimeError) as error:  # e.g. every trial had the same params
            log.warning("no %s: %s", name, error)
            continue
        axes.figure.savefig(sweep_dir / name, dpi=100, bbox_inches="tight")
        plt.close(axes.figure)


def open_storage(storage: str | None, sweep_dir: Path):
    """``journal:///<path>`` (or no storage: a journal in the sweep folder) as Optuna's journal
    storage, a file any number of processes append to; anything else (sqlite:///..., a
    database URL) is an RDB URL for Optuna."""
    if storage is None or storage.startswith("journal://"):
        path = Path(storage.removeprefix("journal://")) if storage else sweep_dir / "study.log"
        path.parent.mkdir(parents=True, exist_ok=True)
        return JournalStorage(JournalFileBackend(str(path)))
    return storage


def search_space(params: dict, arguments: list[str]) -> tuple[dict, list[str]]:
    """The distributions to ask for (``hydra.sweeper.params`` and sweeps given on the command
    line), and the command line's fixed overrides every trial gets."""
    parser = OverridesParser.create()
    space, fixed = {}, []
    swept = [f"{key}={value}" for key, value in params.items()]
    for override in parser.parse_overrides(swept + list(arguments)):
        if override.is_sweep_override():
            space[override.get_key_element()] = distribution(override)
        else:
            fixed.append(override.input_line)
    return space, fixed


def distribution(override) -> BaseDistribution:
    """Hydra's sweep syntax as an Optuna distribution: ``choice(a, b)``, ``range(1, 5)``,
    ``interval(0.1, 1)``; ``tag(log, ...)`` samples on a log scale, ``tag(int, interval(...))``
    integers."""
    sweep = override.value()
    if isinstance(sweep, ChoiceSweep):
        return CategoricalDistribution(sweep.list)
    if isinstance(sweep, RangeSweep):
        return IntDistribution(int(sweep.start), int(sweep.stop) - 1, step=int(sweep.step))
    if isinstance(sweep, IntervalSweep):
        log_scale = "log" in sweep.tags
        if "int" in sweep.tags:
            return IntDistribution(int(sweep.start), int(sweep.end), log=log_scale)
        return FloatDistribution(sweep.start, sweep.end, log=log_scale)
    raise UsageError(
        f"{override.input_line}: an Optuna search takes choice(...), range(...) or "
        "interval(...) (optionally tag(log, ...))"
    )


def overrides_of(trial: optuna.Trial) -> list[str]:
    return [f"{key}={value}" for key, value in trial.params.items()]


def returned_value(result) -> float | None:
    """The job's return value, or None when it failed or returned nothing or NaN."""
    try:
        value = result.return_value  # re-raises the job's exception
    except Exception:  # recorded by Hydra's callbacks (summary.md); the search goes on
        return None
    if value is None or not math.isfinite(float(value)):
        return None
    return float(value)
