"""Optuna searches through our sweeper (src/lenetlab/search): the search space from Hydra's sweep
syntax, studies that persist and continue."""

import optuna
import pytest
from hydra.core.override_parser.overrides_parser import OverridesParser
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution
from test_sweeps import job_dirs, only_sweep_dir, read_summary

from conftest import QUIET, run_script
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


@pytest.mark.slow
def test_parallel_workers_and_a_killed_one_leave_no_trial_running(tmp_path, data_dir):
    """Two joblib workers run trials side by side; job 0's worker is killed mid-trial (kill -9).
    Its batch is recorded failed, never RUNNING, and the search goes on."""
    kill_job_0 = [
        "+callbacks.signal._target_=probes.SignalAt",
        "+callbacks.signal.epoch=${hydra:job.num}",
        "+callbacks.signal.batch=1",
        "+callbacks.signal.signal=SIGKILL",
    ]  # fmt: skip (epoch = job number: only job 0 reaches its epoch in a 1-epoch trial)
    parallel = ["hydra/launcher=joblib", "hydra.launcher.n_jobs=2", "hydra.sweeper.n_jobs=2"]
    log_dir = search(tmp_path, data_dir, 4, *parallel, *kill_job_0)
    sweep_dir = only_sweep_dir(log_dir)
    storage = open_storage(None, sweep_dir)  # the default: a journal in the sweep folder
    study = optuna.load_study(study_name="mnist_optuna", storage=storage)
    states = [t.state.name for t in study.trials]
    assert states == ["FAIL", "FAIL", "COMPLETE", "COMPLETE"]  # the killed batch, then 2 more
    assert len({tuple(sorted(t.params.items())) for t in study.trials}) == 4  # 4 distinct trials


@pytest.mark.slow
def test_trials_clearly_behind_are_pruned_not_failed(tmp_path, data_dir):
    """A learning rate of 1e-7 leaves a trial at chance after its first epoch, below the median
    of the trials before it: the median pruner stops it there."""
    log_dir = search(
        tmp_path, data_dir, 6, "optimizer.lr=choice(0.05, 0.0000001)",
        "model.activation=choice(relu)", "data.batch_size=choice(64)",
        "hydra.sweeper.pruner.n_startup_trials=1", "hydra.sweeper.pruner.n_warmup_steps=0",
        epochs=3,
    )  # fmt: skip
    sweep_dir = only_sweep_dir(log_dir)
    study = optuna.load_study(study_name="mnist_optuna", storage=open_storage(None, sweep_dir))
    pruned = [t for t in study.trials if t.state == optuna.trial.TrialState.PRUNED]
    assert pruned, [(t.params["optimizer.lr"], t.state.name) for t in study.trials]
    lrs = [(t.params["optimizer.lr"], t.state.name) for t in study.trials]
    assert all(t.params["optimizer.lr"] < 1e-6 for t in pruned), lrs  # only the hopeless ones
    assert not any(t.state == optuna.trial.TrialState.FAIL for t in study.trials)
    rows = {int(row["job"]): row for row in read_summary(sweep_dir)}
    for trial in study.trials:  # the summary says what the study says, with the epochs run
        row = rows[trial.number]
        if trial.state == optuna.trial.TrialState.PRUNED:
            assert row["status"] == "pruned" and int(row["epochs"]) < 3
        else:
            assert row["status"] == "completed" and int(row["epochs"]) == 3
    (pruned_dir,) = [d for d in job_dirs(sweep_dir) if d.name.startswith(f"{pruned[0].number}_")]
    assert (pruned_dir / "pruned.json").is_file() and (pruned_dir / "metrics.json").is_file()
