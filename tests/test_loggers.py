"""logger= choices: TensorBoard (the default), CSV, several at once; a resumed run goes on in
the same record, nothing logged twice."""

import csv
from pathlib import Path

import pytest
import yaml

from conftest import quiet_train_config
from lenetlab.commands import train as train_script


def rows(run_dir: Path) -> list[dict]:
    with open(run_dir / "csv" / "metrics.csv", newline="") as file:
        return list(csv.DictReader(file))


def column(table: list[dict], name: str) -> list[tuple[int, float]]:
    return [(int(row["step"]), float(row[name])) for row in table if row.get(name)]


@pytest.fixture(scope="module")
def two_epochs(tmp_path_factory, data_dir):
    """A 2-epoch run with logger=[tensorboard,csv], tagged."""
    run_dir = tmp_path_factory.mktemp("run")
    overrides = ["logger=[tensorboard,csv]", "tags=[baseline]", "trainer.max_epochs=2",
                 "callbacks.prediction_images=null"]  # fmt: skip
    cfg = quiet_train_config(data_dir, run_dir, *overrides)
    return run_dir, train_script.train(cfg)


def test_csv_gets_each_epochs_metrics_the_test_and_the_hyperparameters(two_epochs):
    run_dir, metrics = two_epochs
    table = rows(run_dir)
    assert len(column(table, "val/acc")) == 2 and len(column(table, "train/loss_epoch")) == 2
    assert column(table, "test/acc")[-1][1] == pytest.approx(metrics["test/acc"])
    hparams = yaml.safe_load((run_dir / "csv" / "hparams.yaml").read_text())
    assert hparams["model"] == "lenet_tanh" and hparams["tags"] == "baseline"
    assert hparams["optimizer/lr"] == 0.05
    assert list(run_dir.glob("events.out.tfevents.*"))  # TensorBoard's record beside it


def test_csv_alone_needs_no_tensorboard(train_config):
    cfg = train_config("logger=csv", "trainer.max_epochs=1")
    metrics = train_script.train(cfg)
    run_dir = Path(cfg.paths.output_dir)
    assert not list(run_dir.glob("events.out.tfevents.*"))
    assert column(rows(run_dir), "test/acc")[-1][1] == pytest.approx(metrics["test/acc"])


def test_a_resumed_run_goes_on_in_the_same_csv_and_logs_nothing_twice(train_config, tmp_path):
    common = ["logger=csv", "callbacks.prediction_images=null"]
    train_script.train(train_config(*common, "trainer.max_epochs=2"))
    run_dir = tmp_path / "run"
    first = rows(run_dir)
    last_step = max(int(row["step"]) for row in first)
    # What an interrupted command logs after its last checkpoint: logged again on resuming.
    with open(run_dir / "csv" / "metrics.csv", "a", newline="") as file:
        csv.DictWriter(file, fieldnames=list(first[0])).writerow(
            {**{key: "" for key in first[0]}, "step": last_step + 3, "val/acc": "0.123"}
        )
    train_script.train(train_config(*common, "trainer.max_epochs=4", f"++resume={run_dir}"))
    table = rows(run_dir)
    val = column(table, "val/acc")
    assert [step for step, _ in val] == sorted({step for step, _ in val})  # each step once
    assert len(val) == 4 and 0.123 not in [value for _, value in val]
    assert column(table, "val/acc")[:2] == column(first, "val/acc")  # the first command's kept
