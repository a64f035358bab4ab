"""``logger=wandb``: the run in Weights & Biases - metrics by trainer step, the hyperparameters
TensorBoard's HPARAMS shows, the tags, the pictures.

Offline unless the user has logged in or asks (records/trackers.py ``wandb_mode``): no account
and no network needed, the run is kept in ``<run dir>/wandb/`` for ``wandb sync`` later. A
multirun's jobs form one W&B group (the sweep's folder); ``resume=<run dir>`` goes on in the same
W&B run id (records/loggers.py).
"""

from pathlib import Path

from lightning.fabric.loggers.logger import rank_zero_experiment
from lightning.pytorch.loggers import WandbLogger as LightningWandbLogger
from lightning.pytorch.utilities import rank_zero_only

from lenetlab.records.loggers import TrackedRuns, Tracker, sweep_of_job
from lenetlab.records.trackers import wandb_mode


class WandbLogger(Tracker, LightningWandbLogger):
    def __init__(
        self,
        run_dir: str,
        project: str = "lenetlab",
        entity: str | None = None,
        mode: str | None = None,
        tags: list | None = None,
    ) -> None:
        import wandb

        self.runs = TrackedRuns(run_dir)
        sweep = sweep_of_job()
        mode = wandb_mode(mode)
        super().__init__(
            name=Path(run_dir).name,
            save_dir=str(run_dir),
            project=project,
            entity=entity,
            id=self.runs.get("wandb"),  # None: a new run, its id made by rank 0 (experiment)
            mode=mode,
            # Offline, W&B cannot look the run up to resume it: each command keeps its own
            # offline-run folder of the same id, which `wandb sync` appends in order.
            resume="allow" if mode == "online" else None,
            group=sweep.get("sweep"),
            job_type="sweep" if sweep else "train",
            tags=[str(tag) for tag in tags or []],
            settings=wandb.Settings(silent=True, console="off", x_disable_stats=True),
        )
        self._wandb_init.pop("anonymous", None)  # W&B 0.31 warns that it does nothing

    @property
    @rank_zero_experiment
    def experiment(self):
        if self._experiment is None and self._wandb_init.get("id") is None:
            from wandb.sdk.lib.runid import generate_id

            self._wandb_init["id"] = self._id = generate_id()
            self.runs.put("wandb", self._id)
        return LightningWandbLogger.experiment.fget(self)

    @rank_zero_only
    def log_hyperparams(self, params) -> None:
        params = dict(params)
        self.send(lambda: self.experiment.config.update(params, allow_val_change=True))

    def log_picture(self, tag: str, picture, step: int) -> None:
        self.log_image(tag, [picture], step=step)  # through log_metrics: held like them

    def set_tags(self, tags: dict) -> None:
        self.experiment.config.update(tags, allow_val_change=True)

    def finalize(self, status: str) -> None:
        super().finalize(status)
        if status != "success" and self._experiment is not None:
            self.close(exit_code=1)

    def close(self, exit_code: int = 0) -> None:
        """W&B's run ends here: the next run of a multirun in this process gets its own."""
        if self._experiment is not None:
            self._experiment.finish(exit_code=exit_code)
            self._experiment = None
