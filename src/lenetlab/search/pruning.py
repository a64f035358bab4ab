"""TrialPruning: a trial of an Optuna search reports its validation metric after every epoch,
and stops early when the study's pruner finds it clearly behind the other trials.

The sweeper (optuna_sweeper.py) adds it to each trial's callbacks; the trial is found in the
study's storage, the one place both the sweeper and a job on any launcher (joblib, SLURM) reach.
A pruned trial stops as if it had reached its last epoch: it is tested and its metrics.json
written like any run, ``pruned.json`` in its folder says when it stopped, and the sweeper tells
the study PRUNED (not failed).
"""

from pathlib import Path

import optuna
from hydra.core.hydra_config import HydraConfig
from hydra.utils import instantiate
from lightning import Trainer
from optuna_integration import PyTorchLightningPruningCallback

from lenetlab.records.files import write_json_atomic
from lenetlab.records.loggers import trackers
from lenetlab.records.sweep_summary import PRUNED_FILE
from lenetlab.search.optuna_sweeper import PRUNED_AT, open_storage


class TrialPruning(PyTorchLightningPruningCallback):
    def __init__(self, trial_id: int, study_name: str, monitor: str = "val/acc"):
        sweeper = HydraConfig.get().sweeper
        sweep_dir = Path(HydraConfig.get().runtime.output_dir).parent
        study = optuna.load_study(
            study_name=study_name,
            storage=open_storage(sweeper.storage, sweep_dir),
            pruner=instantiate(sweeper.pruner),
        )
        super().__init__(optuna.trial.Trial(study, trial_id), monitor=monitor)
        self.pruned = False

    def on_fit_start(self, trainer: Trainer, pl_module) -> None:
        super().on_fit_start(trainer, pl_module)
        self.tag_trackers(trainer, "RUNNING")

    def on_fit_end(self, trainer: Trainer, pl_module) -> None:
        self.tag_trackers(trainer, "PRUNED" if self.pruned else "COMPLETE")

    def tag_trackers(self, trainer: Trainer, state: str) -> None:
        """The trial's number and state in MLflow or W&B (the state the sweeper tells the study
        once the job returns)."""
        if trainer.is_global_zero:
            tags = {"optuna_trial": self._trial.number, "optuna_state": state}
            for tracker in trackers(trainer):
                tracker.set_tags(tags)

    def on_validation_end(self, trainer: Trainer, pl_module) -> None:
        try:
            super().on_validation_end(trainer, pl_module)  # report; raises when pruned
        except optuna.TrialPruned:
            # Stop as at the last epoch instead of failing: the run is tested and recorded.
            trainer.should_stop = True
            self.pruned = True
            epochs = trainer.current_epoch + 1
            self._trial.set_user_attr(PRUNED_AT, epochs)
            record = {PRUNED_AT: epochs, "monitor": self.monitor}
            write_json_atomic(Path(trainer.default_root_dir) / PRUNED_FILE, record)
