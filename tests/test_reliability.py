"""Bad luck, not bad input: diverging runs, kills, Ctrl-C, runs started in the same second."""

import json
import os
import shutil
import time

import pytest
import torch
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from conftest import assert_one_line, run_in_process, run_script
from lenetlab.cli.run_dirs import RunDirs
from lenetlab.commands import train as train_script
from lenetlab.models.module import LeNetModule, TrainingDiverged


def test_new_dir_never_reuses_a_folder(tmp_path):
    base = str(tmp_path / "2026-11-23_18-00-00_lenet_tanh_mnist")
    new_dir = RunDirs().new_dir
    assert new_dir(base) == base
    assert new_dir(base) == base + "-2"
    assert new_dir(base) == base + "-3"
    assert sorted(os.listdir(tmp_path)) == [os.path.basename(base) + s for s in ("", "-2", "-3")]


def test_diverging_run_stops_with_the_cause_and_keeps_the_last_good_checkpoint(train_config):
    cfg = train_config("optimizer.lr=1e6", "trainer.max_epochs=8")
    with pytest.raises(TrainingDiverged) as error:
        train_script.train(cfg)
    message = str(error.value)
    assert "training diverged" in message and "lower optimizer.lr" in message
    assert "\n" not in message
    last = cfg.paths.output_dir + "/checkpoints/last.ckpt"
    assert f"the last good checkpoint is kept: {last}" in message
    model = LeNetModule.load_from_checkpoint(last)
    assert all(torch.isfinite(p).all() for p in model.parameters())


def train_cli(*args):
    """train.py's command line, run in this process (a kill needs a process: run_script)."""
    return run_in_process("train.py", *args)


def quiet(data_dir, run_dir):
    return [
        f"paths.data_dir={data_dir}",
        "data.download=false",
        f"hydra.run.dir={run_dir}",
        "trainer.accelerator=cpu",
        "trainer.enable_progress_bar=false",
        "callbacks.progress_bar=null",
        "callbacks.model_summary=null",
        "trainer.max_epochs=5",
    ]


def signal_at(epoch, batch, name):
    return [
        "+callbacks.signal._target_=probes.SignalAt",
        f"+callbacks.signal.epoch={epoch}",
        f"+callbacks.signal.batch={batch}",
        f"+callbacks.signal.signal={name}",
    ]


def val_steps(run_dir):
    events = EventAccumulator(str(run_dir))
    events.Reload()
    return [event.step for event in events.Scalars("val/acc")]


# Ctrl-C in the default tier: tests/training/test_resume.py (under callbacks=none).
@pytest.mark.parametrize("signal_name", ["SIGKILL", pytest.param("SIGINT", marks=pytest.mark.slow)])
def test_killed_or_interrupted_run_resumes_in_its_own_directory(tmp_path, data_dir, signal_name):
    run_dir = tmp_path / "outputs" / "run"
    first = run_script("train.py", *quiet(data_dir, run_dir), *signal_at(2, 2, signal_name))
    if signal_name == "SIGKILL":
        assert first.returncode == -9
    else:  # Ctrl-C: a checkpoint where it stopped, and the command to go on
        assert first.returncode == 1
        assert f"python src/train.py resume={run_dir}" in first.stdout + first.stderr
    saved_config = (run_dir / ".hydra" / "config.yaml").read_text()
    stopped_at = torch.load(run_dir / "checkpoints" / "last.ckpt", weights_only=False)
    steps_per_epoch = 5  # 540 fixture training images in batches of 128
    if signal_name == "SIGKILL":  # the last checkpoint is the end of epoch 2
        assert stopped_at["global_step"] == 2 * steps_per_epoch
    else:  # saved on Ctrl-C, after batch 2 (the third) of epoch 3
        assert stopped_at["global_step"] == 2 * steps_per_epoch + 3
    assert not (run_dir / "metrics.json").exists()

    # TensorBoard reads a folder's event files in name order, and a name starts with the second
    # its writer opened: a resume in the same second as the interrupted command's start (this
    # machine can) would be read first. A user's resume comes later than that.
    time.sleep(1 - time.time() % 1)
    resumed = train_cli(f"resume={run_dir}", "~callbacks.signal")
    assert resumed.returncode == 0, resumed.stderr
    assert os.listdir(tmp_path / "outputs") == ["run"]  # no new run directory
    assert (run_dir / ".hydra" / "config.yaml").read_text() == saved_config  # not overwritten
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["epochs"] == 5 and metrics["test/acc"] > 0.9
    steps = val_steps(run_dir)  # one TensorBoard run, steps carry on across the restart
    assert steps == sorted(steps) and len(set(steps)) == 5


def test_resume_needs_a_run_directory(tmp_path):
    result = train_cli(f"resume={tmp_path}")
    assert result.returncode == 2
    expected = f"error: resume={tmp_path}: not a run directory (it has no .hydra/config.yaml)\n"
    assert result.stderr == expected


SLOW = pytest.mark.slow
# Mistakes in the config, in every command: tests/cli/test_mistakes.py (generated).


def damage(data_dir, tmp_path, name, damage_fn):
    copy = tmp_path / "data"
    shutil.copytree(data_dir, copy)
    path = copy / name
    path.write_bytes(damage_fn(path.read_bytes()))
    return copy, path


@pytest.mark.parametrize(
    ("dataset", "name", "damage_fn", "what"),
    [  # a truncated MNIST file: tests/cli/test_mistakes.py
        pytest.param(
            "mnist",
            "MNIST/raw/train-images-idx3-ubyte",
            lambda b: b[:-1000],
            "where its header",
            marks=SLOW,
        ),  # fmt: skip
        pytest.param(
            "fashion_mnist",
            "FashionMNIST/raw/t10k-labels-idx1-ubyte",
            lambda b: b"PK" + b[2:],
            "bad magic number",
            marks=SLOW,
        ),  # fmt: skip
        pytest.param(
            "usps", "usps.t.bz2", lambda b: b[: len(b) // 2], "not a complete bz2", marks=SLOW
        ),  # fmt: skip
    ],
)
def test_damaged_dataset_file_is_named_in_one_line(tmp_path, data_dir, dataset, name, damage_fn,
                                                   what):  # fmt: skip
    copy, path = damage(data_dir, tmp_path, name, damage_fn)
    outputs = tmp_path / "outputs"
    result = train_cli(f"data={dataset}", f"paths.data_dir={copy}", f"paths.log_dir={outputs}",
                       "data.download=false")  # fmt: skip
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1, result.stderr
    assert f"{path}: " in result.stderr and what in result.stderr
    assert not outputs.exists() or not any(outputs.iterdir())


def test_checkpoints_are_written_atomically(tmp_path, monkeypatch):
    from lenetlab.training.checkpointing import AtomicCheckpointIO

    io, path = AtomicCheckpointIO(), tmp_path / "checkpoints" / "last.ckpt"
    io.save_checkpoint({"epoch": 1}, path)

    def killed_mid_write(obj, f):
        f.write(b"half a checkpoint")
        raise KeyboardInterrupt

    monkeypatch.setattr(torch, "save", killed_mid_write)
    with pytest.raises(KeyboardInterrupt):
        io.save_checkpoint({"epoch": 2}, path)
    monkeypatch.undo()
    assert torch.load(path)["epoch"] == 1  # the previous checkpoint, whole
    assert os.listdir(path.parent) == ["last.ckpt"]  # no temporary file left behind


@pytest.mark.parametrize("stop", [False, True])
def test_training_stuck_at_chance_is_reported_and_optionally_stopped(train_config, caplog, stop):
    cfg = train_config(
        "optimizer.lr=1e-7",  # learns nothing: stays at chance
        "trainer.max_epochs=5",
        "callbacks.chance_watch.patience=2",
        f"callbacks.chance_watch.stop={stop}",
    )
    with caplog.at_level("WARNING", logger="lenetlab"):
        metrics = train_script.train(cfg)
    warnings = [r.getMessage() for r in caplog.records if "stayed at chance" in r.getMessage()]
    assert len(warnings) == 1 and "for 2 epochs" in warnings[0]
    assert metrics["epochs"] == (2 if stop else 5)


def fast_run_into(data_dir, log_dir, *overrides):
    return train_cli(
        f"paths.data_dir={data_dir}", "data.download=false", f"paths.log_dir={log_dir}",
        "trainer.enable_progress_bar=false", "callbacks.progress_bar=null", *overrides,
    )  # fmt: skip


def test_read_only_output_folder_is_one_line_and_leaves_nothing(data_dir, small_disk):
    disk = small_disk("1m", read_only=True)
    result = fast_run_into(data_dir, disk / "outputs", "trainer.max_epochs=1")
    assert_one_line(result, f"cannot write {disk}/outputs", "read-only", "paths.log_dir=<folder>")
    assert not any(disk.iterdir())


@pytest.mark.parametrize(
    ("size", "says"),
    [
        pytest.param("4k", "no space left on the disk", marks=SLOW),  # not even Hydra's .hydra/
        ("1m", "MiB free on its disk, a run needs about"),  # checked before training starts
    ],
)
def test_full_disk_before_the_run_is_one_line_and_leaves_nothing(data_dir, small_disk, size, says):
    disk = small_disk(size)
    result = fast_run_into(data_dir, disk, "trainer.max_epochs=1")
    assert_one_line(result, says, "paths.log_dir=<folder>")
    assert not any(disk.iterdir())


def test_disk_filling_up_mid_run_keeps_the_last_checkpoint_and_resumes(data_dir, small_disk):
    disk = small_disk("8m")
    filler = disk / "someone_elses_file"
    fill_at_epoch_2 = [
        "+callbacks.fill._target_=probes.FillDiskAt",
        "+callbacks.fill.epoch=1",
        f"+callbacks.fill.path={filler}",
    ]
    result = fast_run_into(data_dir, disk, "trainer.max_epochs=3", *fill_at_epoch_2)
    (run_dir,) = [p for p in disk.iterdir() if p.is_dir()]
    assert_one_line(result, "no space left", f"resume={run_dir}")
    checkpoints = run_dir / "checkpoints"
    assert sorted(os.listdir(checkpoints)) == ["best.ckpt", "last.ckpt"]  # no half-written one
    assert torch.load(checkpoints / "last.ckpt", weights_only=False)["epoch"] == 0  # epoch 1's

    filler.unlink()  # the user frees space and resumes
    resumed = train_cli(f"resume={run_dir}", "~callbacks.fill")
    assert resumed.returncode == 0, resumed.stderr
    assert json.loads((run_dir / "metrics.json").read_text())["epochs"] == 3
