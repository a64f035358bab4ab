"""Process settings every command makes through cli/launch.py."""

import json
import subprocess
import sys

import pytest

from conftest import REPO, run_script
from lenetlab.cli import launch

GLIBC = sys.platform == "linux"


@pytest.mark.skipif(not GLIBC, reason="glibc's allocator")
def test_keeping_freed_memory_serves_step_sized_blocks_from_the_heap():
    """In a new process: glibc's default maps an 8 MiB block with mmap (unmapped again when
    freed); after keep_freed_memory the heap serves it."""
    code = (
        "from probes import heap_serves\n"
        "from lenetlab.cli.launch import keep_freed_memory\n"
        "before = heap_serves(8 << 20)\n"
        "kept = keep_freed_memory()\n"
        "print(before, kept, heap_serves(8 << 20), heap_serves(128 << 20))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO / "tests", capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    # before, set, after, and a block past the 64 MiB limit still mapped
    assert result.stdout.split() == ["False", "True", "True", "False"]


@pytest.mark.parametrize(
    ("orig_argv", "argv", "quick"),
    [
        (["python", "src/train.py", "seed=1"], ["src/train.py", "seed=1"], True),
        (["python", "-X", "importtime", "src/train.py"], ["src/train.py"], True),
        (["python", "-m", "cProfile", "src/train.py"], ["src/train.py"], False),
        (["python", "-m", "pytest", "tests"], ["src/train.py", "seed=1"], False),  # in-process
        (["python", "-c", "..."], ["-c"], False),
    ],
)
def test_only_a_script_started_as_such_skips_the_teardown(monkeypatch, orig_argv, argv, quick):
    monkeypatch.setattr(sys, "orig_argv", orig_argv)
    monkeypatch.setattr(sys, "argv", argv)
    assert launch.started_for_this_script() is quick


def test_an_unfinished_command_takes_the_usual_way_out(monkeypatch):
    exits = []
    monkeypatch.setattr(launch.os, "_exit", exits.append)
    monkeypatch.setattr(launch.logging, "shutdown", lambda: None)  # pytest's own handlers
    quick_exit = launch.QuickExit()
    quick_exit.exit_if_finished()  # an error, Ctrl-C: the interpreter's own exit
    assert exits == []
    quick_exit.finished = True
    quick_exit.exit_if_finished()
    assert exits == [0]


def test_a_finished_command_exits_zero_with_its_output_and_log_whole(data_dir, tmp_path):
    """The quick exit loses nothing; and the command kept freed memory while it trained."""
    probe = tmp_path / "probe"
    result = run_script(
        "train.py", "trainer.fast_dev_run=true", f"paths.data_dir={data_dir}",
        f"paths.log_dir={tmp_path / 'logs'}", "data.download=false",
        f"+callbacks.probe={{_target_: probes.AllocatorProbe, out_dir: {probe}}}",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    assert "test/acc" in result.stdout  # Lightning's test table, flushed before the exit
    (log,) = (tmp_path / "logs").glob("*/train.log")
    assert "metrics: {" in log.read_text().splitlines()[-1]  # Hydra's log file, closed
    if GLIBC:
        assert json.loads((probe / "rank0.json").read_text()) == {"heap_serves_8_mib": True}
