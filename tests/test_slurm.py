"""The cluster path on a real SLURM (slow tier): `make slurm-up` starts a one-node cluster on
this machine (CI does), and these tests submit to it through hydra/launcher=slurm. Skipped,
with the reason, where there is no cluster to submit to."""

import json
import shutil
import subprocess

import optuna
import pytest
from test_sweeps import job_dirs, only_sweep_dir, read_summary

from conftest import run_script
from lenetlab.search.optuna_sweeper import open_storage


def cluster_problem() -> str | None:
    if shutil.which("sbatch") is None:
        return "no SLURM here (sbatch not found); `sudo make slurm-up` starts a one-node cluster"
    states = subprocess.run(["sinfo", "-h", "-o", "%T"], capture_output=True, text=True)
    if states.returncode != 0:
        return f"SLURM is installed but not running: {states.stderr.strip()} (make slurm-up)"
    if not {"idle", "mixed"} & set(states.stdout.split()):
        return f"no SLURM node takes jobs (states: {states.stdout.split()}); make slurm-up"
    return None


pytestmark = [pytest.mark.slow]
PROBLEM = cluster_problem()
if PROBLEM:
    pytestmark.append(pytest.mark.skip(reason=PROBLEM))

# One CPU and 2 GB per task, no GPU: what the one-node cluster of make slurm-up has.
ON_SLURM = [
    "hydra/launcher=slurm", "hydra.launcher.partition=null", "hydra.launcher.gpus_per_node=0",
    "hydra.launcher.cpus_per_task=1", "hydra.launcher.mem_gb=2", "hydra.launcher.timeout_min=10",
]  # fmt: skip


def slurm_sweep(tmp_path, data_dir, *overrides):
    log_dir = tmp_path / "outputs"
    result = run_script(
        "train.py", "-m", *ON_SLURM, *overrides, "trainer.accelerator=cpu",
        "trainer.max_epochs=2", f"paths.data_dir={data_dir}", "data.download=false",
        f"paths.log_dir={log_dir}", "trainer.enable_progress_bar=false",
        "callbacks.progress_bar=null", "callbacks.model_summary=null", timeout=600,
    )  # fmt: skip
    return result, only_sweep_dir(log_dir)


def test_a_sweep_on_slurm_continues_where_its_jobs_stopped(tmp_path, data_dir):
    """resume=<sweep dir> submits again to the cluster: a finished job kept, one cut short (its
    results gone, its last.ckpt kept) resumed, one never started run."""
    result, sweep_dir = slurm_sweep(tmp_path, data_dir, "seed=1,2,3")
    assert result.returncode == 0, result.stderr[-3000:]
    job_0, job_1, job_2 = job_dirs(sweep_dir)
    kept = (job_0 / "metrics.json").read_text()
    (job_1 / "metrics.json").unlink(), (job_1 / "job.json").unlink()
    shutil.rmtree(job_2)
    resumed = run_script("train.py", f"resume={sweep_dir}", timeout=600)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert (job_0 / "metrics.json").read_text() == kept
    assert json.loads((job_1 / "metrics.json").read_text())["epochs"] == 2
    assert json.loads((job_2 / "metrics.json").read_text())["epochs"] == 2
    assert [row["status"] for row in read_summary(sweep_dir)] == ["completed"] * 3


def test_a_two_job_sweep_runs_as_slurm_jobs(tmp_path, data_dir):
    result, sweep_dir = slurm_sweep(tmp_path, data_dir, "model=lenet_tanh,lenet_relu")
    assert result.returncode == 0, result.stderr[-3000:]
    jobs = job_dirs(sweep_dir)
    assert len(jobs) == 2
    for job in jobs:
        assert json.loads((job / "metrics.json").read_text())["epochs"] == 2
    # One job array (one sbatch script), two SLURM jobs <array>_0 and <array>_1, one task each.
    task_logs = sorted(p.name for p in (sweep_dir / ".submitit").rglob("*_log.out"))
    array = task_logs[0].split("_")[0]
    assert task_logs == [f"{array}_0_0_log.out", f"{array}_1_0_log.out"]
    assert [row["status"] for row in read_summary(sweep_dir)] == ["completed"] * 2


def test_a_ddp_job_runs_as_two_slurm_tasks(tmp_path, data_dir):
    ranks = tmp_path / "ranks"
    result, sweep_dir = slurm_sweep(
        tmp_path, data_dir, "hydra.launcher.tasks_per_node=2", "trainer.strategy=ddp",
        "trainer.devices=2", "data.batch_size=64",
        "+callbacks.ranks._target_=probes.RankMetrics", f"+callbacks.ranks.out_dir={ranks}",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    # Both tasks trained, in step: each rank's validation metrics, the same in both.
    for epoch in (0, 1):
        rank0 = json.loads((ranks / f"rank0_epoch{epoch}.json").read_text())
        rank1 = json.loads((ranks / f"rank1_epoch{epoch}.json").read_text())
        assert rank0 == rank1 and "val/acc" in rank0
    (job,) = job_dirs(sweep_dir)
    assert json.loads((job / "metrics.json").read_text())["epochs"] == 2  # from rank 0 only
    task_logs = sorted(p.name for p in (sweep_dir / ".submitit").rglob("*_log.out"))
    slurm_job = task_logs[0].split("_")[0]
    assert task_logs == [f"{slurm_job}_0_log.out", f"{slurm_job}_1_log.out"]  # 2 tasks, 1 job


def test_a_job_failing_on_slurm_is_in_the_summary_with_its_line(tmp_path, data_dir):
    result, sweep_dir = slurm_sweep(tmp_path, data_dir, "data.batch_size=0,64")
    line = "data.batch_size=0 is not valid: use a whole number >= 1"
    assert result.returncode == 2
    assert result.stderr.splitlines()[-1] == f"error: {line}"
    rows = {row["job"]: row for row in read_summary(sweep_dir)}
    assert rows["0"]["status"] == "failed" and rows["0"]["error"] == f"UsageError: {line}"
    assert rows["1"]["status"] == "completed"


def test_an_optuna_search_runs_its_trials_as_parallel_slurm_jobs(tmp_path, data_dir):
    """Two trials at a time as SLURM jobs, the jobs reporting each epoch to the study's journal
    for the pruner; the first worker is killed mid-trial (kill -9): its batch is recorded failed,
    never left RUNNING, and the search goes on."""
    kill_job_0 = [
        "+callbacks.signal._target_=probes.SignalAt",
        "+callbacks.signal.epoch=${hydra:job.num}",
        "+callbacks.signal.batch=1",
        "+callbacks.signal.signal=SIGKILL",
    ]  # fmt: skip (epoch = job number: only job 0 reaches its epoch in 2-epoch trials)
    result, sweep_dir = slurm_sweep(
        tmp_path, data_dir, "hparams_search=mnist_optuna", "hydra.sweeper.n_trials=4",
        "hydra.sweeper.n_jobs=2", *kill_job_0,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    study = optuna.load_study(study_name="mnist_optuna", storage=open_storage(None, sweep_dir))
    assert [t.state.name for t in study.trials] == ["FAIL", "FAIL", "COMPLETE", "COMPLETE"]
    assert len({tuple(sorted(t.params.items())) for t in study.trials}) == 4  # 4 distinct trials
    assert [len(t.intermediate_values) for t in study.trials[2:]] == [2, 2]  # from the jobs
    # Each batch one SLURM job array of two tasks: 2 arrays, 4 SLURM jobs, one trial each.
    task_logs = sorted(p.name for p in (sweep_dir / ".submitit").rglob("*_log.out"))
    arrays = sorted({name.split("_")[0] for name in task_logs})
    assert task_logs == [f"{a}_{i}_0_log.out" for a in arrays for i in (0, 1)] and len(arrays) == 2
    rows = {row["job"]: row["status"] for row in read_summary(sweep_dir)}
    assert rows["2"] == rows["3"] == "completed"
