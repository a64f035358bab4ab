"""``logger=mlflow``: the run in MLflow - metrics by step, the hyperparameters TensorBoard's
HPARAMS shows, the tags, the pictures, and the best and last checkpoints as artifacts.

One MLflow experiment per task (``train``); a multirun's jobs carry their sweep's folder and job
number as tags (the MLflow UI groups runs by a tag), an Optuna trial its number and state. The
default store is a sqlite file beside the runs (``outputs/mlflow.db``), its artifacts in
``outputs/mlartifacts``. ``resume=<run dir>`` reopens the same MLflow run (records/loggers.py).
"""

import logging
import re
from pathlib import Path

from lightning.fabric.loggers.logger import rank_zero_experiment
from lightning.fabric.utilities.logger import _convert_params, _flatten_dict
from lightning.pytorch.loggers import MLFlowLogger as LightningMLFlowLogger
from lightning.pytorch.utilities import rank_zero_only

from lenetlab.records.loggers import TrackedRuns, Tracker, sweep_of_job
from lenetlab.run_folder import CHECKPOINTS


class MLflowLogger(Tracker, LightningMLFlowLogger):
    def __init__(
        self,
        run_dir: str,
        tracking_uri: str = "sqlite:///outputs/mlflow.db",
        experiment_name: str = "train",
        tags: list | None = None,
        log_checkpoints: bool = True,
    ) -> None:
        self.runs = TrackedRuns(run_dir)
        self.run_dir = Path(run_dir)
        self.log_checkpoints = log_checkpoints
        self.logged_files: dict[Path, float] = {}  # checkpoint -> its mtime when logged
        run_tags = sweep_of_job() | {"run_dir": str(self.run_dir.resolve())}
        if tags:
            run_tags["tags"] = ",".join(map(str, tags))
        super().__init__(
            experiment_name=experiment_name,
            run_name=self.run_dir.name,
            tracking_uri=tracking_uri,
            tags=run_tags,
            artifact_location=local_artifacts(tracking_uri),
            run_id=self.runs.get("mlflow"),
        )
        self.reopened = self._run_id is not None
        # A new local store announces its tables on the console, as a run's news it is not.
        for name in ("mlflow.store.db.utils", "alembic"):
            logging.getLogger(name).setLevel(logging.WARNING)

    @property
    @rank_zero_experiment
    def experiment(self):
        first = not self._initialized
        if first and self._run_id is None and self._experiment_id is None:
            self._experiment_id = self.experiment_of_task()
        client = LightningMLFlowLogger.experiment.fget(self)
        if first and client is not None:
            if self.reopened:  # resume=: the same run, running again
                client.update_run(self._run_id, status="RUNNING")
            else:
                self.runs.put("mlflow", self._run_id)
        return client

    def experiment_of_task(self) -> str:
        """The task's MLflow experiment, created by the first run that needs it (Lightning's
        creation warns, and two jobs of a sweep starting at once may both try)."""
        from mlflow.exceptions import MlflowException

        client, name = self._mlflow_client, self._experiment_name
        for _ in range(2):
            found = client.get_experiment_by_name(name)
            if found is not None and found.lifecycle_stage != "deleted":
                return found.experiment_id
            try:
                return client.create_experiment(name, artifact_location=self._artifact_location)
            except MlflowException:  # another job created it first
                continue
        raise RuntimeError(f"MLflow experiment {name!r}: neither found nor created")

    @rank_zero_only
    def log_hyperparams(self, params) -> None:
        """MLflow keeps a parameter's first value: a resumed run that changes one
        (``trainer.max_epochs=N`` to go on longer) records the new value as a tag."""
        params = _flatten_dict(_convert_params(params))  # as MLflow will get them
        if self.reopened:
            kept = self.experiment.get_run(self.run_id).data.params
            changed = {k: v for k, v in params.items() if k in kept and kept[k] != str(v)}
            for key, value in changed.items():
                self.experiment.set_tag(self.run_id, f"resumed/{key}", str(value))
            params = {k: v for k, v in params.items() if k not in changed}
        super().log_hyperparams(params)

    def log_picture(self, tag: str, picture, step: int) -> None:
        key = re.sub(r"[^\w\-./ ]", "_", tag)
        self.send(lambda: self.experiment.log_image(self.run_id, picture, key=key, step=step))

    def set_tags(self, tags: dict) -> None:
        for key, value in tags.items():
            self.experiment.set_tag(self.run_id, key, str(value))

    def finalize(self, status: str = "success") -> None:
        if status == "success" and self.log_checkpoints and self._initialized:
            self.log_new_checkpoints()
        super().finalize(status)

    def log_new_checkpoints(self) -> None:
        """best.ckpt and last.ckpt into the run's ``checkpoints/`` artifacts, each time they
        have changed since it was last logged (Lightning finalizes after fit and after test)."""
        for path in sorted((self.run_dir / CHECKPOINTS).glob("*.ckpt")):
            mtime = path.stat().st_mtime
            if self.logged_files.get(path) != mtime:
                self.experiment.log_artifact(self.run_id, str(path), CHECKPOINTS)
                self.logged_files[path] = mtime


def local_artifacts(tracking_uri: str) -> str | None:
    """Artifacts of a local store beside it (``outputs/mlartifacts``), not in the working
    folder's ``mlruns/``; a server decides for itself (None)."""
    if not tracking_uri.startswith("sqlite:///"):
        return None
    return str(Path(tracking_uri.removeprefix("sqlite:///")).resolve().parent / "mlartifacts")
