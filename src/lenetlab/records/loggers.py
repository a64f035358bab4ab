"""Loggers of conf/logger/ that Lightning's own do not cover as lenetlab needs: a resumed run
(``resume=<run dir>``) goes on in the same record, with nothing logged twice.

TensorBoard needs nothing: its reader drops the events an interrupted command logged after the
step a resumed one starts from. Lightning's CSVLogger deletes an earlier metrics.csv instead;
``CSVLogger`` here keeps it, without the rows that will be logged again.
"""

import csv

from lightning.fabric.loggers.logger import rank_zero_experiment
from lightning.pytorch.loggers import CSVLogger as LightningCSVLogger
from lightning.pytorch.loggers.csv_logs import ExperimentWriter


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
