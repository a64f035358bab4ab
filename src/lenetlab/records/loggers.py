"""What loggers need beyond Lightning's for lenetlab's promise: a resumed run
(``resume=<run dir>``) goes on in the same record, with nothing logged twice.

TensorBoard's reader drops the events an interrupted command logged after the step a resumed
one starts from (``TensorBoardLogger`` here only draws the model's graph once a command).
Lightning's CSVLogger deletes an earlier metrics.csv instead; ``CSVLogger`` here keeps it,
without the rows that will be logged again. A tracker (MLflow, W&B:
records/mlflow_logger.py, wandb_logger.py) cannot take back what it was sent, so it is sent only
what a checkpoint covers (``Tracker``), and a resume reopens the same tracked run
(``TrackedRuns``: the run ids in the run folder).
"""

import csv
import json
from collections.abc import Callable
from pathlib import Path

from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from lightning.fabric.loggers.logger import rank_zero_experiment
from lightning.pytorch.loggers import CSVLogger as LightningCSVLogger
from lightning.pytorch.loggers import TensorBoardLogger as LightningTensorBoardLogger
from lightning.pytorch.loggers.csv_logs import ExperimentWriter

from lenetlab.records.files import write_json_atomic


class TensorBoardLogger(LightningTensorBoardLogger):
    """Lightning's, tracing the model's graph at the first fit or test of a command only:
    Lightning traces it again when the test starts, a second copy of the same graph in the
    run's events and about 0.15 s of the command (docs/benchmarks.md, issue 26)."""

    graph_drawn = False

    def log_graph(self, model, input_array=None) -> None:
        if self.graph_drawn:
            return
        super().log_graph(model, input_array)
        self.graph_drawn = True


class ContinuedMetrics(ExperimentWriter):
    """metrics.csv that a resumed run appends to. At this command's first save, the rows an
    earlier command logged at or after the first step this one logs (after the checkpoint it
    resumed from, before it was interrupted) are dropped: they are logged again now."""

    def __init__(self, log_dir: str) -> None:
        self.continued = False
        super().__init__(log_dir)

    def _check_log_dir_exists(self) -> None:
        """Lightning's deletes an existing metrics.csv here; an earlier command's rows stay."""

    def save(self) -> None:
        if self.metrics and not self.continued:
            if self._fs.isfile(self.metrics_file_path):
                self.drop_rows_from(min(row["step"] for row in self.metrics))
            self.continued = True
        super().save()

    def drop_rows_from(self, step: int) -> None:
        with self._fs.open(self.metrics_file_path, "r", newline="") as file:
            reader = csv.DictReader(file)
            kept = [row for row in reader if int(float(row["step"])) < step]
            self.metrics_keys = sorted(reader.fieldnames or [])
        with self._fs.open(self.metrics_file_path, "w", newline="") as file:
            writer = csv.DictWriter(file, fieldnames=self.metrics_keys)
            writer.writeheader()
            writer.writerows(kept)


class CSVLogger(LightningCSVLogger):
    """Lightning's CSVLogger (metrics.csv and hparams.yaml), continued by a resumed run."""

    @property
    @rank_zero_experiment
    def experiment(self) -> ContinuedMetrics:
        if self._experiment is None:
            self._fs.makedirs(self.root_dir, exist_ok=True)
            self._experiment = ContinuedMetrics(log_dir=self.log_dir)
        return self._experiment


class Tracker:
    """A logger mixin for trackers. What is logged from an epoch's start until
    ``checkpoints/last.ckpt`` is saved (training/checkpointing.py: TrackersHold calls ``hold``,
    LastCheckpoint ``release``) is held, then sent. A command killed mid-epoch has sent only
    what its last checkpoint covers, and ``resume=`` logs the rest once. What Lightning logs
    after the checkpoint of an epoch (the epoch's training metrics) is sent at once: a resume
    starts at the next epoch. A run that fails drops what it holds; one that succeeds sends it
    (``finalize``)."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.holding = False
        self.held: list[Callable[[], None]] = []

    def send(self, write: Callable[[], None]) -> None:
        if self.holding:
            self.held.append(write)
        else:
            write()

    def hold(self) -> None:
        self.holding = True

    def release(self) -> None:
        held, self.held, self.holding = self.held, [], False
        for write in held:
            write()

    def log_metrics(self, metrics, step=None) -> None:
        metrics, log = dict(metrics), super().log_metrics  # the caller's dict may change
        self.send(lambda: log(metrics, step))

    def log_picture(self, tag: str, picture, step: int) -> None:
        """A (H, W) or (H, W, 3) uint8 picture (callbacks' predictions, feature maps)."""
        raise NotImplementedError

    def set_tags(self, tags: dict) -> None:
        """Tags of the tracked run set while it runs (an Optuna trial's number and state)."""
        raise NotImplementedError

    def finalize(self, status: str) -> None:
        if status == "success":
            self.release()
        else:
            self.held, self.holding = [], False
        super().finalize(status)

    def close(self) -> None:
        """The run's end (records/results.py, after the final metrics): Lightning finalizes
        loggers after fitting and again after testing, so that cannot be the end."""


def trackers(trainer) -> list[Tracker]:
    """The run's loggers that are trackers."""
    return [logger for logger in trainer.loggers if isinstance(logger, Tracker)]


class TrackedRuns:
    """``<run dir>/trackers.json``: the id of the run each tracker holds for this run folder, so
    that ``resume=<run dir>`` (or a resumed sweep's job) logs into the same tracked run."""

    FILE = "trackers.json"

    def __init__(self, run_dir: str | Path) -> None:
        self.path = Path(run_dir) / self.FILE

    def read(self) -> dict:
        return json.loads(self.path.read_text()) if self.path.is_file() else {}

    def get(self, tracker: str) -> str | None:
        return self.read().get(tracker)

    def put(self, tracker: str, run_id: str) -> None:
        write_json_atomic(self.path, self.read() | {tracker: run_id})


def sweep_of_job() -> dict[str, str]:
    """A multirun job's place in its sweep (``sweep``: the sweep folder, ``sweep_job``: the job's
    number), for a tracker to record and group by; empty for a single run."""
    if not HydraConfig.initialized() or HydraConfig.get().mode != RunMode.MULTIRUN:
        return {}
    hydra_cfg = HydraConfig.get()
    return {"sweep": str(hydra_cfg.sweep.dir), "sweep_job": str(hydra_cfg.job.num)}
