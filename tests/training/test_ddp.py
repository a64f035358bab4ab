"""DDP keeps the single-process promises: ``trainer=ddp`` on 2 CPU processes (gloo) meets
Ctrl-C, kill -9, a NaN loss, a full disk and bad input in one rank, and each ends as it does in
one process: one line, exit 2 or the resume hint, last.ckpt holding the progress, a resume that
finishes the planned epochs, and no process or folder left behind."""

import json
import os
from pathlib import Path

import pytest
import torch

from conftest import assert_one_line, run_script

SLOW = pytest.mark.slow
STEPS_PER_EPOCH = 9  # 540 fixture training images, global batches of 64


def ddp_cli(data_dir, run_dir, *overrides):
    return run_script(
        "train.py", "trainer=ddp", "trainer.accelerator=cpu", "trainer.devices=2",
        "data.batch_size=64", "trainer.max_epochs=3", f"paths.data_dir={data_dir}",
        "data.download=false", f"hydra.run.dir={run_dir}", "trainer.enable_progress_bar=false",
        "++callbacks.progress_bar=null", "++callbacks.model_summary=null", *overrides,
    )  # fmt: skip


def probe(name, target, **values):
    return [f"+callbacks.{name}._target_=probes.{target}"] + [
        f"+callbacks.{name}.{key}={value}" for key, value in values.items()
    ]


def processes_of(run_dir: Path) -> list[str]:
    """Command lines of live processes that mention the run folder (its ranks)."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if str(run_dir) in cmdline and "src/train.py" in cmdline:
            found.append(cmdline)
    return found


def last_step(run_dir: Path) -> int:
    return torch.load(run_dir / "checkpoints" / "last.ckpt", weights_only=False)["global_step"]


def resume_finishes(run_dir: Path, *removed_probes: str):
    removed = [f"~callbacks.{name}" for name in removed_probes]
    resumed = run_script("train.py", f"resume={run_dir}", *removed)
    assert resumed.returncode == 0, resumed.stderr
    assert json.loads((run_dir / "metrics.json").read_text())["epochs"] == 3
    assert not processes_of(run_dir)


@pytest.mark.parametrize(
    "callbacks", [pytest.param("callbacks=default", marks=SLOW), "callbacks=none"]
)
def test_ctrl_c_saves_rank_zeros_progress_and_resume_finishes(tmp_path, data_dir, callbacks):
    run_dir = tmp_path / "run"
    # Ctrl-C in a terminal reaches every process of the command (its process group).
    ctrl_c = probe("signal", "SignalAt", epoch=1, batch=2, signal="SIGINT", group="true")
    first = ddp_cli(data_dir, run_dir, callbacks, *ctrl_c)
    assert first.returncode == 1, first.stderr
    assert f"python src/train.py resume={run_dir}" in first.stdout + first.stderr
    assert "Traceback" not in first.stderr
    assert last_step(run_dir) == STEPS_PER_EPOCH + 3  # saved after batch 2 of epoch 2
    assert not processes_of(run_dir)
    resume_finishes(run_dir, "signal")


@SLOW
def test_bad_input_in_one_rank_is_its_one_line(tmp_path, data_dir):
    run_dir = tmp_path / "run"
    message = "data.something=wrong: use another value"
    bad = probe("bad", "UsageErrorAt", epoch=1, batch=2, rank=1, message=f"'{message}'")
    result = ddp_cli(data_dir, run_dir, *bad)
    assert_one_line(result, message)
    assert result.stderr.splitlines()[-1] == f"error: {message}"
    assert not processes_of(run_dir)


def test_a_batch_that_does_not_split_over_the_ranks_stops_before_any_work(tmp_path, data_dir):
    result = run_script(
        "train.py", "trainer=ddp", "trainer.accelerator=cpu", "trainer.devices=3",
        "data.batch_size=128", f"paths.data_dir={data_dir}", f"paths.log_dir={tmp_path}/out",
    )  # fmt: skip
    assert_one_line(result, "data.batch_size=128 does not split evenly over 3 processes")
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


@SLOW
@pytest.mark.parametrize("rank", [0, 1])
def test_kill_9_of_a_rank_ends_the_run_and_resume_finishes(tmp_path, data_dir, rank):
    run_dir = tmp_path / "run"
    kill = probe("signal", "SignalAt", epoch=1, batch=2, signal="SIGKILL", rank=rank)
    first = ddp_cli(data_dir, run_dir, *kill)
    if rank == 0:  # the command itself is killed; its other rank dies with it
        assert first.returncode == -9
    else:  # rank 0 notices, says which rank died and how to go on
        assert_one_line(first, "rank 1 of this run was killed (SIGKILL)", f"resume={run_dir}")
    assert last_step(run_dir) == STEPS_PER_EPOCH  # the end of epoch 1
    assert not processes_of(run_dir)
    resume_finishes(run_dir, "signal")


@SLOW
def test_nan_in_one_rank_stops_every_rank_and_keeps_the_last_good_checkpoint(tmp_path, data_dir):
    run_dir = tmp_path / "run"
    result = ddp_cli(data_dir, run_dir, *probe("nan", "NanAt", epoch=1, batch=2, rank=1))
    assert_one_line(result, "training diverged", "the last good checkpoint is kept")
    model = torch.load(run_dir / "checkpoints" / "last.ckpt", weights_only=False)
    assert model["global_step"] == STEPS_PER_EPOCH
    assert all(torch.isfinite(w).all() for w in model["state_dict"].values())
    assert not processes_of(run_dir)


@SLOW
def test_disk_filling_up_under_ddp_keeps_the_last_checkpoint_and_resumes(data_dir, small_disk):
    disk = small_disk("8m")
    run_dir = disk / "run"
    filler = disk / "someone_elses_file"
    fill = probe("fill", "FillDiskAt", epoch=1, path=filler)
    result = ddp_cli(data_dir, run_dir, *fill)
    assert_one_line(result, "no space left", f"resume={run_dir}")
    assert last_step(run_dir) == STEPS_PER_EPOCH
    assert not processes_of(run_dir)
    filler.unlink()
    resume_finishes(run_dir, "fill")


@SLOW
def test_a_compiled_model_trains_under_ddp(tmp_path, data_dir):
    """Each rank compiles its own model (nothing is pickled between processes)."""
    run_dir = tmp_path / "run"
    result = ddp_cli(data_dir, run_dir, "compile=true", "trainer.max_epochs=1")
    assert result.returncode == 0, result.stderr[-3000:]
    assert json.loads((run_dir / "metrics.json").read_text())["epochs"] == 1
