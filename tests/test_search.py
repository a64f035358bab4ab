"""Optuna searches through our sweeper (src/lenetlab/search): the search space from Hydra's sweep
syntax, studies that persist and continue."""

import json
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import optuna
import pytest
from hydra.core.override_parser.overrides_parser import OverridesParser
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution
from test_sweeps import hparams_columns, job_dirs, only_sweep_dir, read_summary

from conftest import QUIET, assert_one_line, run_script
from lenetlab.errors import UsageError
from lenetlab.search.optuna_sweeper import distribution, open_storage, search_space


def parsed(line: str):
    return OverridesParser.create().parse_override(line)


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("a=choice(64, 128, 256)", CategoricalDistribution([64, 128, 256])),
        ("a=choice(tanh, relu)", CategoricalDistribution(["tanh", "relu"])),
        ("a=range(1, 5)", IntDistribution(1, 4)),
        ("a=interval(0.1, 0.5)", FloatDistribution(0.1, 0.5)),
        ("a=tag(log, interval(0.005, 0.2))", FloatDistribution(0.005, 0.2, log=True)),
        ("a=tag(int, interval(2, 9))", IntDistribution(2, 9)),
    ],
)
def test_hydra_sweep_syntax_becomes_optuna_distributions(line, expected):
    assert distribution(parsed(line)) == expected


def test_search_space_takes_params_and_command_line_sweeps():
    space, fixed = search_space(
        {"optimizer.lr": "tag(log, interval(0.01, 0.1))"},
        ["model.pool=choice(avg, max)", "trainer.max_epochs=3"],
    )
    assert space == {
        "optimizer.lr": FloatDistribution(0.01, 0.1, log=True),
        "model.pool": CategoricalDistribution(["avg", "max"]),
    }
    assert fixed == ["trainer.max_epochs=3"]
    with pytest.raises(UsageError, match="takes choice"):
        search_space({}, ["seed=glob(*)"])


def test_a_pruner_set_as_a_value_is_one_line_before_any_trial(tmp_path):
    log_dir = tmp_path / "outputs"
    result = run_script(
        "train.py", "hparams_search=mnist_optuna", "hydra.sweeper.pruner=none",
        f"paths.log_dir={log_dir}",
    )  # fmt: skip
    assert_one_line(result, "hydra.sweeper.pruner=none is not a pruner", "hydra/sweeper/pruner=")
    assert not log_dir.exists()


def search(tmp_path, data_dir, n_trials, *overrides, epochs=1):
    log_dir = tmp_path / "outputs"
    result = run_script(
        "train.py", "-m", "hparams_search=mnist_optuna", f"hydra.sweeper.n_trials={n_trials}",
        f"trainer.max_epochs={epochs}", f"paths.data_dir={data_dir}", f"paths.log_dir={log_dir}",
        *overrides, *QUIET,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    return log_dir


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["sqlite", "journal"])
def test_the_same_command_again_continues_the_study(tmp_path, data_dir, kind):
    path = tmp_path / ("optuna.db" if kind == "sqlite" else "study.log")
    storage = f"sqlite:///{path}" if kind == "sqlite" else f"journal://{path}"
    keep = [f"hydra.sweeper.storage={storage}", "hydra.sweeper.sampler.n_startup_trials=2"]
    search(tmp_path / "first", data_dir, 3, *keep)
    second = search(tmp_path / "second", data_dir, 2, *keep)
    study = optuna.load_study(study_name="mnist_optuna", storage=open_storage(storage, tmp_path))
    assert [t.number for t in study.trials] == [0, 1, 2, 3, 4]  # one study of 3 + 2 trials
    assert all(t.state == optuna.trial.TrialState.COMPLETE for t in study.trials)
    sweep_dir = only_sweep_dir(second)  # the second command's own folder, its own 2 jobs
    assert len(job_dirs(sweep_dir)) == 2
    assert [row["status"] for row in read_summary(sweep_dir)] == ["completed"] * 2
    for picture in ("optimization_history.png", "param_importances.png"):  # of all 5 trials
        assert (sweep_dir / picture).read_bytes().startswith(b"\x89PNG")
    hparams, metrics = hparams_columns(sweep_dir)  # TensorBoard opens on the search space
    assert hparams[:5] == sorted(key.replace(".", "/") for key in study.trials[0].params)
    assert metrics[0] == "val/acc_best"
    # The documented `optuna-dashboard <storage>` serves the study: every trial, with its curve.
    trials = dashboard_trials(f"sqlite:///{path}" if kind == "sqlite" else str(path))
    assert [trial["number"] for trial in trials] == [0, 1, 2, 3, 4]
    assert all(trial["intermediate_values"] for trial in trials)  # val/acc after each epoch


@pytest.mark.slow
def test_resume_of_a_search_runs_the_trials_it_lacks_in_its_own_folder(tmp_path, data_dir):
    """resume=<sweep dir> reads as for a grid: the search goes on in its folder and its study
    (the journal there), numbering the new trials after the old; here 2 of 3 had run."""
    log_dir = search(tmp_path, data_dir, 2, "hydra.sweeper.sampler.n_startup_trials=1")
    sweep_dir = only_sweep_dir(log_dir)
    result = run_script("train.py", f"resume={sweep_dir}", "hydra.sweeper.n_trials=3")
    assert result.returncode == 0, result.stderr[-3000:]
    study = optuna.load_study(study_name="mnist_optuna", storage=open_storage(None, sweep_dir))
    assert [t.state.name for t in study.trials] == ["COMPLETE"] * 3
    assert [job.name.split("_")[0] for job in job_dirs(sweep_dir)] == ["0", "1", "2"]
    assert only_sweep_dir(log_dir) == sweep_dir and len(read_summary(sweep_dir)) == 3


def dashboard_trials(storage: str) -> list[dict]:
    """The trials optuna-dashboard shows for the study in ``storage``, from its JSON API."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    command = [Path(sys.executable).parent / "optuna-dashboard", storage, "--port", str(port)]
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def get(path: str):
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/{path}", timeout=5) as response:
            return json.load(response)

    try:
        for _ in range(60):  # the server starts in a second or two
            try:
                (study,) = get("studies")["study_summaries"]
                break
            except urllib.error.URLError:
                assert server.poll() is None, server.stderr.read().decode()
                time.sleep(0.5)
        else:
            raise AssertionError("optuna-dashboard did not answer in 30 s")
        assert study["study_name"] == "mnist_optuna"
        return get(f"studies/{study['study_id']}")["trials"]
    finally:
        server.terminate()
        server.wait()
