"""Multiruns: one directory and one TensorBoard run per job, a summary table, sweepers,
launchers, DDP and mixed precision."""

import csv
import json
import math
import os
import shlex
import shutil
import threading
from pathlib import Path

import joblib
import pytest
import torch
from hydra.core.hydra_config import HydraConfig
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.errors import ConfigCompositionException
from omegaconf import OmegaConf, open_dict
from tensorboard.backend.event_processing import data_provider, plugin_event_multiplexer
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tensorboard.plugins import base_plugin
from tensorboard.plugins.hparams import hparams_plugin
from werkzeug.test import Client
from werkzeug.wrappers import Response

from conftest import run_in_process, run_script
from lenetlab.cli.run_dirs import job_dirname
from lenetlab.commands.train import train
from lenetlab.data.datamodule import DigitsDataModule
from lenetlab.errors import UsageError
from lenetlab.records.hparams import swept_hparams
from lenetlab.records.sweep_summary import sorted_jobs, write_summary
from lenetlab.run_folder import resume_command
from lenetlab.training import devices
from probes import DtypeProbe

QUIET = [
    "data.download=false",
    "trainer.accelerator=cpu",
    "trainer.enable_progress_bar=false",
    "~callbacks.progress_bar",
    "callbacks.model_summary=null",
    "trainer.max_epochs=1",
]


def only_sweep_dir(log_dir: Path) -> Path:
    """The one multirun directory under log_dir; nothing else may be there."""
    assert os.listdir(log_dir) == ["multirun"]
    (sweep_dir,) = (log_dir / "multirun").iterdir()
    return sweep_dir


def job_dirs(sweep_dir: Path) -> list[Path]:
    return sorted(p for p in sweep_dir.iterdir() if (p / ".hydra").is_dir())


def read_summary(sweep_dir: Path) -> list[dict]:
    with open(sweep_dir / "summary.csv") as f:
        return list(csv.DictReader(f))


def ask_hparams_plugin(logdir: Path, route: str, request: dict) -> dict:
    """TensorBoard's HPARAMS plugin on logdir, asked as its frontend asks it."""
    mux = plugin_event_multiplexer.EventMultiplexer()
    mux.AddRunsFromDirectory(str(logdir))
    mux.Reload()
    provider = data_provider.MultiplexerDataProvider(mux, str(logdir))
    context = base_plugin.TBContext(logdir=str(logdir), multiplexer=mux, data_provider=provider)
    app = hparams_plugin.HParamsPlugin(context).get_plugin_apps()[route]
    response = Client(app, Response).post(route, json=request)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def hparams_table(logdir: Path) -> dict[str, dict]:
    """What TensorBoard's HPARAMS tab shows for logdir: {run: {hparam or metric: value}}."""
    request = {"experimentName": "", "startIndex": 0, "sliceSize": 100, "colParams": []}
    request["allowedStatuses"] = ["STATUS_UNKNOWN", "STATUS_SUCCESS"]
    table = {}
    for group in ask_hparams_plugin(logdir, "/session_groups", request)["sessionGroups"]:
        metrics = {m["name"]["tag"]: m["value"] for m in group["metricValues"]}
        table[group["name"]] = group["hparams"] | metrics
    return table


def hparams_columns(logdir: Path) -> tuple[list[str], list[str]]:
    """The HPARAMS tab's columns for logdir, in the order it opens on them (it shows the first
    five of each): (hyperparameters, metrics)."""
    experiment = ask_hparams_plugin(logdir, "/experiment", {"experimentName": ""})
    hparams = [info["name"] for info in experiment["hparamInfos"]]
    return hparams, [info["name"]["tag"] for info in experiment["metricInfos"]]


def test_grid_multirun_gives_each_job_its_dir_tensorboard_run_and_a_row(tmp_path, data_dir):
    log_dir = tmp_path / "outputs"
    result = run_in_process(
        "train.py",
        "-m",
        "model=lenet_sigmoid,lenet_relu",
        "model.pool=avg,max",
        f"paths.data_dir={data_dir}",
        f"paths.log_dir={log_dir}",
        *QUIET,
    )
    assert result.returncode == 0, result.stderr
    sweep_dir = only_sweep_dir(log_dir)
    jobs = job_dirs(sweep_dir)
    assert len(jobs) == 4
    # Named after the job's own overrides: TensorBoard shows these names side by side.
    names = sorted(job.name for job in jobs)
    assert names[0].startswith("0_") and "model.pool=avg" in names[0]
    assert "model=lenet_sigmoid" in names[0] and "model=lenet_relu" in names[3]
    assert not any("/" in name for name in names)

    # TensorBoard on the sweep: one run per job, all of them in HPARAMS with their final metrics.
    hparams = hparams_table(sweep_dir)
    assert sorted(hparams) == names
    for job in jobs:
        events = EventAccumulator(str(job))
        events.Reload()
        assert {"val/acc", "val/acc_best", "test/acc"} <= set(events.Tags()["scalars"])
        metrics = json.loads((job / "metrics.json").read_text())
        row = hparams[job.name]
        assert row["model/activation"] == ("sigmoid" if "lenet_sigmoid" in job.name else "relu")
        assert row["model/pool"] == ("max" if "pool=max" in job.name else "avg")
        assert row["val/acc_best"] == pytest.approx(metrics["val/acc_best"])
        assert row["test/acc"] == pytest.approx(metrics["test/acc"])
        assert row["model"] == ("lenet_sigmoid" if "lenet_sigmoid" in job.name else "lenet_relu")
    # The tab opens on what the sweep varies (the choice and the key it changes, the swept key)
    # and on the run's final metrics; the rest follow by name.
    hparams, metrics = hparams_columns(sweep_dir)
    assert hparams[:3] == ["model", "model/activation", "model/pool"]
    assert hparams[3:] == sorted(hparams[3:]) and "data/batch_size" in hparams[3:]
    assert metrics == ["val/acc_best", "test/acc", "test/loss", "epochs"]

    rows = read_summary(sweep_dir)
    assert len(rows) == 4
    assert {row["status"] for row in rows} == {"completed"}
    values = [float(row["val/acc_best"]) for row in rows]
    assert values == sorted(values, reverse=True)
    for row in rows:
        metrics = json.loads(next(sweep_dir.glob(f"{row['job']}_*/metrics.json")).read_text())
        assert float(row["val/acc_best"]) == pytest.approx(metrics["val/acc_best"])
        assert int(row["epochs"]) == 1
    assert (sweep_dir / "summary.md").read_text().count("| completed |") == 4
    assert not (sweep_dir / "summary_over_seeds.csv").exists()  # no seed was swept
    assert "| completed |" in result.stdout + result.stderr  # the table is printed too

    # Rebuilt afterwards by summarize.py, sorted by another metric if asked.
    (sweep_dir / "summary.csv").unlink()
    summarized = run_in_process("summarize.py", f"sweep_dir={sweep_dir}", "metric=test/acc")
    assert summarized.returncode == 0, summarized.stderr
    assert summarized.stdout.count("| completed |") == 4
    test_accs = [float(row["test/acc"]) for row in read_summary(sweep_dir)]
    assert test_accs == sorted(test_accs, reverse=True)


def test_summary_sorts_best_first_and_failures_last():
    jobs = [
        {"job": 0, "m": 0.5},
        {"job": 1, "m": None},  # failed
        {"job": 2, "m": 0.9},
        {"job": 3, "m": float("nan")},  # diverged
        {"job": 4, "m": 0.7},
    ]
    assert [j["job"] for j in sorted_jobs(jobs, "m", "max")] == [2, 4, 0, 1, 3]
    assert [j["job"] for j in sorted_jobs(jobs, "m", "min")] == [0, 4, 2, 1, 3]


def write_job(sweep_dir: Path, number: int, overrides: list[str], metrics: dict | None) -> None:
    """A job directory as a finished (metrics.json) or failed (none) multirun job leaves it."""
    job_dir = sweep_dir / job_dirname(number, ",".join(overrides))
    (job_dir / ".hydra").mkdir(parents=True)
    (job_dir / ".hydra/config.yaml").write_text("seed: 0\n")
    (job_dir / ".hydra/overrides.yaml").write_text(OmegaConf.to_yaml(overrides))
    status = "completed" if metrics else "failed"
    record = {"job": number, "overrides": overrides, "status": status}
    (job_dir / "job.json").write_text(json.dumps(record))
    if metrics:
        (job_dir / "metrics.json").write_text(json.dumps(metrics))


def test_summary_averages_each_setting_over_its_seeds(tmp_path):
    test_accs = {("lenet_tanh", 1): 0.990, ("lenet_tanh", 2): 0.992, ("lenet_tanh", 3): 0.997}
    test_accs |= {("lenet_relu", 1): 0.980, ("lenet_relu", 2): float("nan")}  # diverged
    for number, ((model, seed), test_acc) in enumerate(test_accs.items()):
        metrics = {"val/acc_best": test_acc - 0.001, "test/acc": test_acc, "epochs": 1}
        write_job(tmp_path, number, [f"model={model}", f"seed={seed}"], metrics)
    write_job(tmp_path, len(test_accs), ["model=lenet_relu", "seed=3"], None)  # failed

    write_summary(tmp_path, "val/acc_best")
    text = (tmp_path / "summary.md").read_text()
    assert text.count("| completed |") == 5 and text.count("| failed |") == 1
    assert "Over seeds" in text and "| model=lenet_tanh | 3 |" in text
    with open(tmp_path / "summary_over_seeds.csv") as f:
        rows = {row["setting"]: row for row in csv.DictReader(f)}
    assert sorted(rows) == ["model=lenet_relu", "model=lenet_tanh"]
    tanh, relu = rows["model=lenet_tanh"], rows["model=lenet_relu"]
    assert tanh["seeds"] == "3"
    assert float(tanh["test/acc mean"]) == pytest.approx(0.993, abs=1e-4)
    assert float(tanh["test/acc std"]) == pytest.approx(0.0036, abs=1e-4)
    assert float(tanh["test/acc min"]) == 0.990 and float(tanh["test/acc max"]) == 0.997
    assert float(tanh["val/acc_best mean"]) == pytest.approx(0.992, abs=1e-4)
    # Only the one finite run counts: no spread from a single seed.
    assert relu["seeds"] == "1" and float(relu["test/acc mean"]) == 0.980
    assert relu["test/acc std"] == ""


def test_job_dirname_is_one_valid_folder_name():
    assert job_dirname(3, "data=mnist,model=lenet_relu") == "3_data=mnist,model=lenet_relu"
    assert job_dirname(0, "paths.data_dir=/x/y") == "0_paths.data_dir=_x_y"
    long_a, long_b = "a=" + "1" * 300, "a=" + "1" * 299 + "2"
    assert len(job_dirname(1, long_a).encode()) < 255
    assert job_dirname(1, long_a) != job_dirname(1, long_b)  # the hash keeps them apart


def set_hydra(cfg, **values):
    """Change hydra.* keys as Hydra would for a job, and make them current."""
    OmegaConf.set_readonly(cfg.hydra, False)
    with open_dict(cfg):
        for key, value in values.items():
            OmegaConf.update(cfg.hydra, key, value)
    HydraConfig.instance().set_config(cfg)


def test_a_usage_error_fails_only_its_job_in_a_multirun(tmp_path, data_dir):
    log_dir = tmp_path / "outputs"
    result = run_in_process(
        "train.py", "-m", "data.batch_size=0,64", "trainer.fast_dev_run=true",
        f"paths.data_dir={data_dir}", f"paths.log_dir={log_dir}", *QUIET,
    )  # fmt: skip
    assert result.returncode == 2
    line = "data.batch_size=0 is not valid: use a whole number >= 1"
    assert result.stderr.splitlines()[-1] == f"error: {line}"
    assert "Traceback" not in result.stderr
    rows = {row["job"]: row for row in read_summary(only_sweep_dir(log_dir))}
    assert rows["0"]["status"] == "failed" and rows["0"]["error"] == f"UsageError: {line}"
    assert rows["1"]["status"] == "completed"  # the sweep went on after the failed job


@pytest.mark.parametrize(("gpus", "per_job"), [(2, 1), (4, 2), (8, 4)])
def test_parallel_joblib_jobs_get_disjoint_gpus(train_config, monkeypatch, gpus, per_job):
    monkeypatch.setattr(devices, "DRIVER_PATHS", ("/",))  # a driver is there: torch counts
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: gpus)
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda i=0: "FakeGPU")

    def start_job(number: int):
        """A job of a joblib worker of its own: its devices, and the hold on them."""
        ddp = ["trainer=ddp", f"trainer.devices={per_job}"] if per_job > 1 else []
        cfg = train_config("hydra/launcher=joblib", "trainer.accelerator=gpu", *ddp)
        set_hydra(cfg, **{"job.num": number, "runtime.output_dir": str(cfg.paths.output_dir)})
        held = devices.job_devices(cfg.trainer)
        return held.__enter__(), held

    (first, job_0), (second, job_1) = start_job(0), start_job(1)
    assert len(first) == len(second) == per_job
    assert set(first).isdisjoint(second) and set(first + second) <= set(range(gpus))
    # A third job while both run (joblib's n_jobs above what the GPUs hold): it waits for a
    # free slot instead of sharing one, and takes the GPUs of the job that ended.
    threading.Timer(1.0, job_0.__exit__, (None, None, None)).start()
    third, job_2 = start_job(2)
    assert third == first
    job_1.__exit__(None, None, None), job_2.__exit__(None, None, None)
    with devices.job_devices(train_config("trainer.accelerator=cpu").trainer) as cpu:
        assert cpu == 1  # not a joblib sweep: trainer.devices as given


def test_slurm_preset_is_the_submitit_slurm_launcher(train_config):
    cfg = train_config("hydra/launcher=slurm", "hydra.launcher.partition=gpu")
    launcher = cfg.hydra.launcher
    assert launcher._target_.endswith("submitit_launcher.SlurmLauncher")
    assert (launcher.partition, launcher.gpus_per_node, launcher.timeout_min) == ("gpu", 1, 60)


class FakeTrainer:
    def __init__(self, world_size):
        self.world_size = world_size


def test_batch_size_is_global_under_ddp():
    datamodule = DigitsDataModule(batch_size=128)
    datamodule.trainer = FakeTrainer(world_size=4)
    assert datamodule.per_process_batch_size() == 32
    datamodule.trainer = FakeTrainer(world_size=3)
    with pytest.raises(UsageError, match="multiple of 3"):
        datamodule.per_process_batch_size()


def test_bf16_mixed_precision_runs_on_cpu(train_config):
    DtypeProbe.seen.clear()
    cfg = train_config(
        "trainer.precision=bf16-mixed",
        "trainer.fast_dev_run=true",
        "+callbacks.dtype_probe._target_=probes.DtypeProbe",
    )
    metrics = train(cfg)
    assert torch.bfloat16 in DtypeProbe.seen
    assert math.isfinite(metrics["test/loss"])


@pytest.mark.slow
def test_optuna_sweep_records_a_failed_trial_and_goes_on(tmp_path, data_dir):
    # Trials 0 and 2 find the data; trial 1 looks in an empty folder and fails.
    for trial in (0, 2):
        (tmp_path / "data" / str(trial)).parent.mkdir(exist_ok=True)
        (tmp_path / "data" / str(trial)).symlink_to(data_dir)
    log_dir = tmp_path / "outputs"
    result = run_script(
        "train.py",
        "-m",
        "hparams_search=mnist_optuna",
        "hydra.sweeper.n_trials=3",
        f"paths.data_dir={tmp_path}/data/${{hydra:job.num}}",
        f"paths.log_dir={log_dir}",
        *QUIET,
    )
    assert result.returncode == 0, result.stderr
    sweep_dir = only_sweep_dir(log_dir)
    assert len(job_dirs(sweep_dir)) == 3
    rows = read_summary(sweep_dir)
    assert [row["status"] for row in rows] == ["completed", "completed", "failed"]
    assert rows[2]["job"] == "1"
    assert rows[2]["error"].startswith("DatasetNotFoundError: MNIST is not in")
    assert "optimizer.lr=" in rows[0]["overrides"] and "model.activation=" in rows[0]["overrides"]
    assert (sweep_dir / "optimization_results.yaml").is_file()


@pytest.mark.slow
def test_joblib_runs_jobs_in_parallel_with_a_fair_share_of_threads(tmp_path, data_dir):
    log_dir = tmp_path / "outputs"
    result = run_script(
        "train.py",
        "-m",
        "hydra/launcher=joblib",
        "hydra.launcher.n_jobs=2",
        "model=lenet_tanh,lenet_relu",
        f"paths.data_dir={data_dir}",
        f"paths.log_dir={log_dir}",
        *QUIET,
    )
    assert result.returncode == 0, result.stderr
    sweep_dir = only_sweep_dir(log_dir)
    jobs = job_dirs(sweep_dir)
    assert len(jobs) == 2
    for job in jobs:
        metrics = json.loads((job / "metrics.json").read_text())
        assert metrics["torch_threads"] == max(1, joblib.cpu_count() // 2)
    assert [row["status"] for row in read_summary(sweep_dir)] == ["completed"] * 2
    hparams, _ = hparams_columns(sweep_dir)  # the swept choice, found in the joblib workers too
    assert hparams[:2] == ["model", "model/activation"] and hparams[2:] == sorted(hparams[2:])


@pytest.mark.slow
def test_submitit_local_launcher(tmp_path, data_dir):
    log_dir = tmp_path / "outputs"
    result = run_script(
        "train.py",
        "-m",
        "hydra/launcher=submitit_local",
        f"paths.data_dir={data_dir}",
        f"paths.log_dir={log_dir}",
        *QUIET,
    )
    assert result.returncode == 0, result.stderr
    sweep_dir = only_sweep_dir(log_dir)
    (job,) = job_dirs(sweep_dir)
    assert json.loads((job / "metrics.json").read_text())["epochs"] == 1
    assert [row["status"] for row in read_summary(sweep_dir)] == ["completed"]


DDP = ["trainer=ddp", "trainer.devices=2", "trainer.max_epochs=2", "data.batch_size=64"]


def assert_ranks_agree(probe_dir: Path, epochs: int):
    for epoch in range(epochs):
        rank0 = json.loads((probe_dir / f"rank0_epoch{epoch}.json").read_text())
        rank1 = json.loads((probe_dir / f"rank1_epoch{epoch}.json").read_text())
        assert rank0.keys() >= {"val/acc", "val/loss", "val/acc_best"}
        assert rank0 == rank1


@pytest.mark.slow
def test_ddp_on_two_cpu_processes(tmp_path, data_dir):
    log_dir = tmp_path / "outputs"
    result = run_script(
        "train.py",
        *DDP,
        f"paths.data_dir={data_dir}",
        f"paths.log_dir={log_dir}",
        "+callbacks.ranks._target_=probes.RankMetrics",
        f"+callbacks.ranks.out_dir={tmp_path / 'ranks'}",
        *QUIET[:-1],
    )
    assert result.returncode == 0, result.stderr
    (run_dir,) = log_dir.iterdir()
    assert_ranks_agree(tmp_path / "ranks", epochs=2)
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["epochs"] == 2 and metrics["test/acc"] > 0.5
    assert (run_dir / "train.log").read_text().count("epoch 2/2") == 1  # rank 0 only


@pytest.mark.slow
def test_ddp_multirun_runs_each_job_once(tmp_path, data_dir):
    log_dir = tmp_path / "outputs"
    result = run_script(
        "train.py",
        "-m",
        "model=lenet_tanh,lenet_relu",
        *DDP,
        f"paths.data_dir={data_dir}",
        f"paths.log_dir={log_dir}",
        "+callbacks.ranks._target_=probes.RankMetrics",
        f"+callbacks.ranks.out_dir={tmp_path}/ranks/${{hydra:job.num}}",
        *QUIET[:-1],
    )
    assert result.returncode == 0, result.stderr
    sweep_dir = only_sweep_dir(log_dir)  # no stray run directories from child processes
    assert len(job_dirs(sweep_dir)) == 2
    for job in (0, 1):
        assert_ranks_agree(tmp_path / "ranks" / str(job), epochs=2)
    assert [row["status"] for row in read_summary(sweep_dir)] == ["completed"] * 2
    assert (
        result.stdout.count("Starting with 2 processes")
        + result.stderr.count("Starting with 2 processes")
        == 2
    )  # one process group per job; a re-run sweep in the children would show more


def test_a_swept_choice_that_does_not_compose_still_marks_the_swept_keys(monkeypatch):
    """Marking the keys a choice changes composes the other choices; if one fails, the run still
    records its row, with the swept keys marked."""

    def cannot_compose(group, sweep):
        raise ConfigCompositionException(f"{group}: cannot compose")

    monkeypatch.setattr("lenetlab.records.hparams.keys_set_differently", cannot_compose)
    sweeps = OverridesParser.create().parse_overrides(["model=lenet_tanh,lenet_relu", "seed=1,2"])
    assert swept_hparams(sweeps) == {"model", "seed"}


def test_an_interrupted_sweep_goes_on_with_the_command_it_prints(tmp_path, data_dir):
    """Ctrl-C in job 1 of three: the printed resume=<sweep dir> keeps job 0 as it was, resumes
    job 1 from its last.ckpt and runs job 2, in the same folders; the summary has all three."""
    log_dir, fired = tmp_path / "outputs", tmp_path / "fired"
    ctrl_c = ["+callbacks.signal._target_=probes.SignalAt", "+callbacks.signal.epoch=1",
              "+callbacks.signal.batch=2", "+callbacks.signal.signal=SIGINT",
              "+callbacks.signal.job=1", f"+callbacks.signal.once={fired}"]  # fmt: skip
    sweep = ["-m", "seed=1,2,3", f"paths.data_dir={data_dir}", f"paths.log_dir={log_dir}",
             *QUIET, "trainer.max_epochs=2", *ctrl_c]  # fmt: skip
    first = run_script("train.py", *sweep)
    assert first.returncode != 0 and fired.is_file()
    sweep_dir = only_sweep_dir(log_dir)
    hint = next(line for line in (first.stdout + first.stderr).splitlines() if "Continue" in line)
    assert hint.endswith(resume_command(sweep_dir))  # the sweep's, not the job's
    job_0, job_1 = job_dirs(sweep_dir)  # job 2 never started
    kept = (job_0 / "metrics.json").read_text(), (job_0 / "job.json").read_text()
    interrupted_at = torch.load(job_1 / "checkpoints" / "last.ckpt", weights_only=False)

    printed = shlex.split(resume_command(sweep_dir))
    resumed = run_in_process(Path(printed[1]).name, *printed[2:])
    assert resumed.returncode == 0, resumed.stderr
    assert only_sweep_dir(log_dir) == sweep_dir  # the same folder, no new one
    jobs = job_dirs(sweep_dir)
    assert [job.name[:2] for job in jobs] == ["0_", "1_", "2_"]
    assert all(f"seed={n + 1}" in (job / ".hydra/overrides.yaml").read_text()
               for n, job in enumerate(jobs))  # fmt: skip
    assert ((jobs[0] / "metrics.json").read_text(), (jobs[0] / "job.json").read_text()) == kept
    resumed_from = interrupted_at["global_step"]  # job 1 went on from there, not from 0
    steps = [event.step for event in scalar_events(jobs[1], "val/acc")]
    assert resumed_from > 0 and len(steps) == 2 and steps == sorted(steps)
    assert json.loads((jobs[2] / "metrics.json").read_text())["epochs"] == 2
    rows = read_summary(sweep_dir)
    assert sorted(row["status"] for row in rows) == ["completed"] * 3


def scalar_events(run_dir: Path, tag: str):
    events = EventAccumulator(str(run_dir))
    events.Reload()
    return events.Scalars(tag)


@pytest.mark.slow
def test_a_joblib_sweep_continues_where_its_jobs_stopped(tmp_path, data_dir):
    """resume=<sweep dir> on joblib's workers: a finished job kept, one cut short (its
    metrics.json gone, its last.ckpt kept) finished, one never started run."""
    log_dir = tmp_path / "outputs"
    sweep = ["-m", "hydra/launcher=joblib", "hydra.launcher.n_jobs=2", "seed=1,2,3",
             f"paths.data_dir={data_dir}", f"paths.log_dir={log_dir}", *QUIET]  # fmt: skip
    assert run_script("train.py", *sweep).returncode == 0
    sweep_dir = only_sweep_dir(log_dir)
    job_0, job_1, job_2 = job_dirs(sweep_dir)
    kept = (job_0 / "metrics.json").read_text()
    (job_1 / "metrics.json").unlink(), (job_1 / "job.json").unlink()  # stopped after its epoch
    shutil.rmtree(job_2)  # never started
    resumed = run_script("train.py", f"resume={sweep_dir}")
    assert resumed.returncode == 0, resumed.stderr
    assert (job_0 / "metrics.json").read_text() == kept
    assert json.loads((job_1 / "metrics.json").read_text())["epochs"] == 1
    assert (job_2 / "metrics.json").is_file()
    assert [row["status"] for row in read_summary(sweep_dir)] == ["completed"] * 3
