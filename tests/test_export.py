"""export.py: ONNX and TorchScript files that compute what the checkpoint computes."""

import json
import shutil
from pathlib import Path

import onnxruntime
import pytest
import torch

from conftest import quiet_train_config, run_in_process
from lenetlab.commands import train as train_script
from lenetlab.models.module import LeNetModule


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory, data_dir):
    # lenet5_1998: the sparse C3 and the RBF head must export too
    run_dir = tmp_path_factory.mktemp("run")
    cfg = quiet_train_config(data_dir, run_dir, "model=lenet5_1998", "trainer.max_epochs=1")
    return train_script.train(cfg)["best_checkpoint"]


def run_export(*args):
    return run_in_process("export.py", *args)


def pixels(batch: int) -> torch.Tensor:
    return torch.randint(0, 256, (batch, 1, 32, 32), generator=torch.Generator().manual_seed(batch))


@pytest.mark.parametrize("export_format", ["onnx", "torchscript"])
def test_export_matches_the_checkpoint(tmp_path, checkpoint, data_dir, export_format):
    output = tmp_path / f"model.{'onnx' if export_format == 'onnx' else 'pt'}"
    result = run_export(
        f"ckpt_path={checkpoint}",
        f"format={export_format}",
        f"output={output}",
        f"paths.data_dir={data_dir}",
    )
    assert result.returncode == 0, result.stderr
    report = json.loads((tmp_path / (output.name + ".json")).read_text())
    assert report["checked_on"] == "200 mnist test images"  # the fixture's test split
    assert report["max_abs_diff"] < 1e-3 and report["same_predictions"] == 1.0
    assert report["classes"] == list("0123456789")
    # Two lines of its own on stdout, no exporter chatter; for ONNX one file that stands alone.
    wrote, checked = result.stdout.splitlines()
    assert wrote.startswith(f"wrote {output}") and "max |logit difference|" in checked
    if export_format == "onnx":
        assert sorted(p.name for p in tmp_path.iterdir()) == ["model.onnx", "model.onnx.json"]
        (tmp_path / "elsewhere").mkdir()
        output = Path(shutil.copy(output, tmp_path / "elsewhere" / "copy.onnx"))

    model = LeNetModule.load_from_checkpoint(checkpoint, map_location="cpu").eval()
    for batch in (1, 7):  # any batch size
        images = pixels(batch)
        with torch.no_grad():
            expected = model(images)
        if export_format == "onnx":
            session = onnxruntime.InferenceSession(str(output))
            actual = torch.from_numpy(session.run(None, {"pixels": images.float().numpy()})[0])
        else:
            actual = torch.jit.load(str(output))(images.float())
        torch.testing.assert_close(actual, expected, atol=1e-3, rtol=1e-4)


def test_export_writes_next_to_the_checkpoint_by_default(tmp_path, checkpoint):
    copy = tmp_path / "best.ckpt"
    copy.write_bytes(Path(checkpoint).read_bytes())
    result = run_export(f"ckpt_path={copy}", "format=torchscript", "paths.data_dir=/nonexistent")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "best.pt").is_file()
    assert json.loads((tmp_path / "best.pt.json").read_text())["checked_on"].startswith("random")
