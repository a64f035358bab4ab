"""logger=mlflow and logger=wandb against the real things: a real ``mlflow server`` on 127.0.0.1
(sqlite backend) read back with MlflowClient, and W&B's offline run files read back with W&B's
own record classes. A resumed run goes on in the same tracked run with nothing logged twice; a
tracker that cannot take the run is one line before training."""

import importlib.util
import json
import os
import signal
import struct
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from pathlib import Path

import pytest

from conftest import QUIET, assert_one_line, compose_config, run_in_process, run_script
from lenetlab.records import hparams, trackers
from lenetlab.training.ranks import free_port

pytest.importorskip("mlflow", reason="the trackers' extras: make test installs them")
pytest.importorskip("wandb", reason="the trackers' extras: make test installs them")
from mlflow import MlflowClient  # noqa: E402
from wandb.proto import wandb_internal_pb2  # noqa: E402


@pytest.fixture(scope="module")
def mlflow_server(tmp_path_factory):
    """``mlflow server`` with a sqlite store, as a team runs one; its address."""
    root = tmp_path_factory.mktemp("mlflow-server")
    url = f"http://127.0.0.1:{free_port()}"
    command = [str(Path(sys.executable).parent / "mlflow"), "server", "--host", "127.0.0.1",
               "--port", url.rsplit(":", 1)[1], "--workers", "1",
               "--backend-store-uri", f"sqlite:///{root}/mlflow.db",
               "--artifacts-destination", str(root / "artifacts")]  # fmt: skip
    with open(root / "server.log", "w") as log:
        # Without its job runner (for GenAI evaluations): seven more processes importing MLflow
        env = {**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}
        server = subprocess.Popen(command, stdout=log, stderr=log, env=env,
                                  start_new_session=True)  # fmt: skip
    try:
        for _ in range(240):  # it takes ~10 s to start on 2 cores
            try:
                urllib.request.urlopen(f"{url}/health", timeout=1).close()
                break
            except OSError:
                assert server.poll() is None, (root / "server.log").read_text()[-2000:]
                time.sleep(0.5)
        else:
            pytest.fail("mlflow server did not start: " + (root / "server.log").read_text())
        yield url
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)


@pytest.fixture
def no_wandb_account(monkeypatch, tmp_path):
    """No W&B login on this machine: no key, no netrc; nothing set to online."""
    for name in ("WANDB_API_KEY", "WANDB_MODE", "WANDB_BASE_URL", "NETRC"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))


def train(log_dir: Path, data_dir: Path, *overrides: str, env: dict | None = None):
    result = run_in_process(
        "train.py", f"paths.data_dir={data_dir}", f"paths.log_dir={log_dir}",
        "data.batch_size=64", "data.eval_batch_size=100", *QUIET, *overrides, env=env,
    )  # fmt: skip
    return result


def the_run_dir(log_dir: Path) -> Path:
    (run_dir,) = [p for p in log_dir.iterdir() if (p / ".hydra").is_dir()]
    return run_dir


CRASH = ["+callbacks.crash._target_=probes.UsageErrorAt", "+callbacks.crash.epoch=1",
         "+callbacks.crash.batch=3", "+callbacks.crash.rank=0",
         "+callbacks.crash.message=crashed mid-epoch"]  # fmt: skip


# MLflow


@pytest.fixture(scope="module")
def mlflow_run(mlflow_server, tmp_path_factory, data_dir):
    """Two epochs with logger=[tensorboard,mlflow], tagged, on the server."""
    log_dir = tmp_path_factory.mktemp("outputs")
    result = train(log_dir, data_dir, "logger=[tensorboard,mlflow]", "trainer.max_epochs=2",
                   f"logger.mlflow.tracking_uri={mlflow_server}",
                   "tags=[baseline,paper]")  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    run_dir = the_run_dir(log_dir)
    client = MlflowClient(mlflow_server)
    run_id = json.loads((run_dir / "trackers.json").read_text())["mlflow"]
    return run_dir, client, client.get_run(run_id), result


def test_mlflow_gets_the_metrics_hyperparameters_and_tags(mlflow_run):
    run_dir, client, run, _ = mlflow_run
    assert client.get_experiment(run.info.experiment_id).name == "train"  # one per task
    assert run.info.run_name == run_dir.name and run.info.status == "FINISHED"
    history = {key: client.get_metric_history(run.info.run_id, key) for key in run.data.metrics}
    assert len(history["val/acc"]) == 2 and len(history["train/loss_epoch"]) == 2
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert run.data.metrics["test/acc"] == pytest.approx(metrics["test/acc"])
    assert {f"test/acc_class/{digit}" for digit in range(10)} <= set(history)
    # The keys TensorBoard's HPARAMS shows, with their values
    shown = hparams.run_hparams(_composed_config(run_dir))
    for key, value in shown.items():
        assert run.data.params[key] == str(value), key
    assert run.data.params["tags"] == run.data.tags["tags"] == "baseline,paper"
    assert run.data.tags["run_dir"] == str(run_dir.resolve())


def _composed_config(run_dir: Path):
    """The run's config composed again from its overrides, with Hydra's state (its group
    choices) as the run had it: not what an earlier test in this process left."""
    from omegaconf import OmegaConf

    overrides = OmegaConf.to_container(OmegaConf.load(run_dir / ".hydra" / "overrides.yaml"))
    return compose_config("train", overrides, run_dir)


def test_mlflow_gets_the_pictures_and_the_best_and_last_checkpoints(mlflow_run):
    _, client, run, _ = mlflow_run
    artifacts = {a.path for a in client.list_artifacts(run.info.run_id, "checkpoints")}
    assert artifacts == {"checkpoints/best.ckpt", "checkpoints/last.ckpt"}
    pictures = {a.path.split("/", 1)[1] for a in client.list_artifacts(run.info.run_id, "images")}
    # MLflow names a picture <key with / as ~>+step+<step>+...
    for key in ("val~predictions", "test~confusion_matrix", "kernels~c1", "feature_maps~0~c1"):
        assert any(name.startswith(key) for name in pictures), (key, sorted(pictures)[:20])


def test_mlflow_adds_no_noise_to_the_run(mlflow_run):
    *_, result = mlflow_run
    noisy = [line for line in result.stderr.splitlines() + result.stdout.splitlines()
             if "mlflow" in line.lower() or "warning" in line.lower()]  # fmt: skip
    assert not noisy, noisy


def test_a_resumed_run_goes_on_in_the_same_mlflow_run_logging_nothing_twice(
    mlflow_server, tmp_path, data_dir
):
    common = [f"logger.mlflow.tracking_uri={mlflow_server}", "trainer.log_every_n_steps=1"]
    crashed = train(tmp_path, data_dir, "logger=mlflow", "trainer.max_epochs=3",
                    "logger.mlflow.log_checkpoints=false", *common, *CRASH)  # fmt: skip
    assert_one_line(crashed, "crashed mid-epoch")  # in epoch 2, after steps it had logged
    run_dir = the_run_dir(tmp_path)
    resumed = run_in_process("train.py", f"resume={run_dir}", "callbacks.crash=null",
                             "trainer.max_epochs=4")  # and one epoch more  # fmt: skip
    assert resumed.returncode == 0, resumed.stderr[-3000:]

    client = MlflowClient(mlflow_server)
    run_id = json.loads((run_dir / "trackers.json").read_text())["mlflow"]
    runs = client.search_runs(
        [client.get_run(run_id).info.experiment_id], f"tags.run_dir = '{run_dir.resolve()}'"
    )
    assert [r.info.run_id for r in runs] == [run_id]  # no second run for the resume
    run = client.get_run(run_id)
    assert run.info.status == "FINISHED"
    for key in set(run.data.metrics) - {"epoch"}:  # Lightning adds epoch to each log call
        steps = Counter(m.step for m in client.get_metric_history(run_id, key))
        assert max(steps.values()) == 1, (key, steps)  # nothing logged twice
    step_losses = client.get_metric_history(run_id, "train/loss_step")
    assert len(client.get_metric_history(run_id, "val/acc")) == 4
    assert sorted(m.step for m in step_losses) == list(range(len(step_losses)))  # none lost
    # MLflow keeps a parameter's first value (the model's, logged as fitting starts), the resumed
    # command's is a tag; the run's own hyperparameters are logged when it ends
    assert run.data.params["scheduler/T_max"] == "3"
    assert run.data.tags["resumed/scheduler/T_max"] == "4"
    assert run.data.params["trainer/max_epochs"] == "4"
    assert not client.list_artifacts(run_id, "checkpoints")  # log_checkpoints=false


def test_an_unreachable_tracking_server_is_one_line_before_training(tmp_path, data_dir):
    address = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    result = train(tmp_path / "outputs", data_dir, "logger=mlflow",
                   f"logger.mlflow.tracking_uri={address}")  # fmt: skip
    assert_one_line(result, f"cannot reach the MLflow server at {address}/health",
                    "logger.mlflow.tracking_uri=sqlite:///outputs/mlflow.db")  # fmt: skip
    assert not (tmp_path / "outputs").exists() or not any((tmp_path / "outputs").iterdir())


@pytest.mark.parametrize("tracker", ["mlflow", "wandb"])
def test_a_missing_tracker_package_is_one_line_naming_the_extra(
    tracker, tmp_path, data_dir, monkeypatch
):
    find_spec = importlib.util.find_spec
    missing = lambda name, *a: None if name == tracker else find_spec(name, *a)  # noqa: E731
    monkeypatch.setattr(trackers.importlib.util, "find_spec", missing)
    result = train(tmp_path / "outputs", data_dir, f"logger=[tensorboard,{tracker}]")
    assert_one_line(result, f"pip install 'lenetlab[{tracker}]'")
    assert not (tmp_path / "outputs").exists() or not any((tmp_path / "outputs").iterdir())


def test_the_mlflow_ui_shows_the_run(mlflow_run, mlflow_server, browser):
    run_dir, _, run, _ = mlflow_run
    page = browser.new_page()
    page.goto(f"{mlflow_server}/#/experiments/{run.info.experiment_id}/runs")
    try:
        page.get_by_text(run_dir.name).first.wait_for(timeout=60_000)  # in the runs table
        assert page.get_by_text("Model training").count()  # the page of training runs
    finally:
        page.screenshot(path=run_dir / "mlflow-ui.png")  # to look at when it fails
        page.close()


# W&B


def wandb_records(path: Path):
    """The records of a W&B run file (``run-<id>.wandb``): W&B's header, then its protobuf
    records in LevelDB's log format (32 KiB blocks of checksummed chunks). W&B 0.31 reads these
    files in its Go core only, so the framing is read here and each record by W&B's own class."""
    data = path.read_bytes()
    assert data[:4] == b":W&B"
    block, position, pending = 32 * 1024, 7, b""
    while position + 7 <= len(data):
        if block - position % block < 7:  # a block's tail too short for a chunk: padding
            position += block - position % block
            continue
        _checksum, length, kind = struct.unpack("<IHB", data[position : position + 7])
        if position + 7 + length > len(data):  # a chunk W&B is writing still
            return
        if kind == 0:  # zeros to the block's end
            position += block - position % block
            continue
        pending += data[position + 7 : position + 7 + length]
        position += 7 + length
        if kind in (1, 4):  # a whole record, or a record's last chunk
            record = wandb_internal_pb2.Record()
            record.ParseFromString(pending)
            pending = b""
            yield record


def finished_records(path: Path, timeout: float = 60) -> list:
    """The records of a run W&B has finished writing: ``run.finish()`` hands the rest to W&B's
    own process (wandb-core), which writes it to the file a moment later, ending with ``exit``."""
    deadline = time.monotonic() + timeout
    while True:
        records = list(wandb_records(path))
        if records and records[-1].WhichOneof("record_type") == "exit":
            return records
        assert time.monotonic() < deadline, f"{path}: W&B did not finish writing it"
        time.sleep(0.2)


def wandb_history(run_dir: Path) -> tuple[list, list[dict]]:
    """The run records and the metric rows ({key: value, "trainer/global_step": step}) of every
    offline-run folder in ``run_dir``, oldest first."""
    runs, rows = [], []
    for folder in sorted((run_dir / "wandb").glob("offline-run-*")):
        for record in finished_records(next(folder.glob("run-*.wandb"))):
            kind = record.WhichOneof("record_type")
            if kind == "run":
                runs.append(record.run)
            elif kind == "history":
                # A picture is a nested value: {key: {"_type": "images/separated", ...}}
                row = {(i.nested_key[0] if i.nested_key else i.key): json.loads(i.value_json)
                       for i in record.history.item}  # fmt: skip
                rows.append({k: v for k, v in row.items() if not k.startswith("_")})
    return runs, rows


def steps_of(rows: list[dict], key: str) -> list[int]:
    return [row["trainer/global_step"] for row in rows if key in row]


def test_wandb_is_offline_without_an_account_and_keeps_the_run(
    tmp_path, data_dir, no_wandb_account
):
    result = train(tmp_path, data_dir, "logger=wandb", "trainer.max_epochs=2", "tags=[baseline]")
    assert result.returncode == 0, result.stderr[-3000:]
    run_dir = the_run_dir(tmp_path)
    (run,), rows = wandb_history(run_dir)
    assert run.run_id == json.loads((run_dir / "trackers.json").read_text())["wandb"]
    assert run.display_name == run_dir.name and list(run.tags) == ["baseline"]
    assert len(steps_of(rows, "val/acc")) == 2 and len(steps_of(rows, "test/acc")) >= 1
    metrics = json.loads((run_dir / "metrics.json").read_text())
    test_acc = [row["test/acc"] for row in rows if "test/acc" in row]
    assert test_acc[-1] == pytest.approx(metrics["test/acc"])
    for key in ("val/predictions", "test/confusion_matrix", "kernels/c1"):
        assert steps_of(rows, key), key  # the pictures
    media = {p.name for p in (run_dir / "wandb").rglob("*.png")}
    assert any(name.startswith("confusion_matrix") for name in media)
    noisy = [line for line in result.stderr.splitlines() if "wandb" in line.lower()]
    assert not noisy, noisy


def test_a_resumed_run_goes_on_in_the_same_wandb_run_logging_nothing_twice(
    tmp_path, data_dir, no_wandb_account
):
    crashed = train(tmp_path, data_dir, "logger=wandb", "trainer.max_epochs=3",
                    "trainer.log_every_n_steps=1", *CRASH)  # fmt: skip
    assert_one_line(crashed, "crashed mid-epoch")
    run_dir = the_run_dir(tmp_path)
    resumed = run_in_process("train.py", f"resume={run_dir}", "callbacks.crash=null")
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    runs, rows = wandb_history(run_dir)
    assert len(runs) == 2 and len({run.run_id for run in runs}) == 1  # `wandb sync` appends
    for key in ("train/loss_step", "val/acc", "train/loss_epoch", "lr-SGD"):
        steps = steps_of(rows, key)
        assert len(steps) == len(set(steps)), (key, steps)  # nothing logged twice
    losses = steps_of(rows, "train/loss_step")
    assert losses == list(range(len(losses)))  # none lost, in order
    assert len(steps_of(rows, "val/acc")) == 3
    # What the guide's `wandb sync outputs/<run>/wandb/offline-run-*` would upload
    folders = sorted(str(p) for p in (run_dir / "wandb").glob("offline-run-*"))
    wandb = Path(sys.executable).parent / "wandb"
    sync = subprocess.run([wandb, "sync", "--dry-run", *folders], capture_output=True, text=True,
                          timeout=120)  # fmt: skip
    assert sync.returncode == 0 and "Would sync 2 run(s)" in sync.stdout + sync.stderr, sync


def test_wandb_online_with_its_server_unreachable_is_one_line_before_training(
    tmp_path, data_dir, no_wandb_account
):
    address = f"http://127.0.0.1:{free_port()}"
    env = {"WANDB_MODE": "online", "WANDB_BASE_URL": address}
    result = train(tmp_path / "outputs", data_dir, "logger=wandb", env=env)
    assert_one_line(result, f"cannot reach W&B at {address}", "WANDB_MODE=offline")
    assert not (tmp_path / "outputs").exists() or not any((tmp_path / "outputs").iterdir())


def test_wandb_is_online_only_when_logged_in_or_asked(no_wandb_account, monkeypatch, tmp_path):
    assert trackers.wandb_mode(None) == "offline"
    netrc = tmp_path / "home" / ".netrc"  # where `wandb login` keeps the key
    netrc.parent.mkdir()
    netrc.write_text("machine api.wandb.ai\n  login user\n  password 0123456789abcdef\n")
    netrc.chmod(0o600)
    assert trackers.wandb_mode(None) == "online"
    monkeypatch.setenv("WANDB_MODE", "offline")
    assert trackers.wandb_mode(None) == "offline"  # the user's say
    assert trackers.wandb_mode("disabled") == "disabled"  # logger.wandb.mode's, over both
    netrc.unlink()
    monkeypatch.delenv("WANDB_MODE")
    monkeypatch.setenv("WANDB_API_KEY", "0123456789abcdef")
    assert trackers.wandb_mode(None) == "online"


# A sweep


def test_an_optuna_search_records_each_trial_with_its_sweep_in_both_trackers(
    tmp_path, data_dir, no_wandb_account
):
    """Two trials of the search (its first five are never pruned: each ends COMPLETE)."""
    log_dir = tmp_path / "outputs"
    result = run_in_process(
        "train.py", "-m", "hparams_search=mnist_optuna", "hydra.sweeper.n_trials=2",
        "trainer.max_epochs=2", "logger=[mlflow,wandb]", f"paths.data_dir={data_dir}",
        f"paths.log_dir={log_dir}", *QUIET,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    assert not [line for line in result.stderr.splitlines() if "mlflow" in line.lower()]
    (sweep_dir,) = (log_dir / "multirun").iterdir()
    jobs = sorted(p for p in sweep_dir.iterdir() if (p / "trackers.json").is_file())
    assert len(jobs) == 2
    client = MlflowClient(f"sqlite:///{log_dir}/mlflow.db")
    experiment = client.get_experiment_by_name("train")
    runs = {r.data.tags["run_dir"]: r for r in client.search_runs([experiment.experiment_id])}
    for number, job in enumerate(jobs):
        tags = runs[str(job.resolve())].data.tags
        assert tags["sweep"] == str(sweep_dir) and tags["sweep_job"] == str(number)
        assert tags["optuna_trial"] == str(number)
        pruned = (job / "pruned.json").is_file()
        assert tags["optuna_state"] == ("PRUNED" if pruned else "COMPLETE")
        (run,), _ = wandb_history(job)
        assert run.run_group == str(sweep_dir) and run.job_type == "sweep"


def test_a_pruned_trial_is_tagged_pruned():
    """(The search above prunes no trial: the median pruner waits for five.)"""
    from types import SimpleNamespace

    from lenetlab.records.loggers import Tracker
    from lenetlab.search.pruning import TrialPruning

    class Recorder(Tracker):
        def __init__(self):
            self.tags = {}

        def set_tags(self, tags):
            self.tags |= tags

    recorder = Recorder()
    trainer = SimpleNamespace(is_global_zero=True, loggers=[recorder])
    pruning = TrialPruning.__new__(TrialPruning)  # the study is not the point here
    pruning._trial, pruning.pruned = SimpleNamespace(number=7), False
    pruning.tag_trackers(trainer, "RUNNING")
    assert recorder.tags == {"optuna_trial": 7, "optuna_state": "RUNNING"}
    pruning.pruned = True
    pruning.on_fit_end(trainer, None)
    assert recorder.tags["optuna_state"] == "PRUNED"


@pytest.mark.slow
def test_a_ddp_run_is_one_tracked_run_logged_by_rank_zero(tmp_path, data_dir, no_wandb_account):
    log_dir = tmp_path / "outputs"
    result = run_script(
        "train.py", "trainer=ddp", "trainer.devices=2", "trainer.max_epochs=2",
        "logger=[mlflow,wandb]", "trainer.log_every_n_steps=1", f"paths.data_dir={data_dir}",
        f"paths.log_dir={log_dir}", "data.batch_size=64", *QUIET[:-1],
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    run_dir = the_run_dir(log_dir)
    client = MlflowClient(f"sqlite:///{log_dir}/mlflow.db")
    (run,) = client.search_runs([client.get_experiment_by_name("train").experiment_id])
    assert run.info.run_id == json.loads((run_dir / "trackers.json").read_text())["mlflow"]
    losses = [m.step for m in client.get_metric_history(run.info.run_id, "train/loss_step")]
    assert sorted(losses) == list(range(len(losses)))  # once a step: rank 0's
    runs, rows = wandb_history(run_dir)
    assert len(runs) == 1 and len(steps_of(rows, "val/acc")) == 2
