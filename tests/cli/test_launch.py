"""Process settings every command makes through cli/launch.py."""

import json
import subprocess
import sys

import pytest

from conftest import REPO, run_script

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


@pytest.mark.skipif(not GLIBC, reason="glibc's allocator")
def test_a_training_command_keeps_freed_memory(data_dir, tmp_path):
    out = tmp_path / "probe"
    result = run_script(
        "train.py", "trainer.fast_dev_run=true", f"paths.data_dir={data_dir}",
        f"paths.log_dir={tmp_path / 'logs'}", "data.download=false",
        f"+callbacks.probe={{_target_: probes.AllocatorProbe, out_dir: {out}}}",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    assert json.loads((out / "rank0.json").read_text()) == {"heap_serves_8_mib": True}
