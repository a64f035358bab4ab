"""Old work still works: a checkpoint written by lenetlab before its package was split into
models/, data/, callbacks/ and runs/ (main at ed26d20, 2026-11-27: 2 epochs of lenet_tanh on the
MNIST fixture, tests/assets/checkpoint_ed26d20/) loads in every entry point with the same test
results; its run folder is refused by resume= in one line."""

import json
import shutil
from pathlib import Path

import pytest
import torch
from PIL import Image

from conftest import compose_config, run_in_process
from lenetlab.commands import evaluate as eval_script
from lenetlab.commands import export as export_script
from lenetlab.commands import predict as predict_script
from lenetlab.data.datamodule import DigitsDataModule
from lenetlab.data.photo import photo_to_input
from lenetlab.models.module import LeNetModule

ASSET = Path(__file__).parent / "assets" / "checkpoint_ed26d20"
CHECKPOINT = ASSET / "last.ckpt"
EXPECTED = json.loads((ASSET / "expected.json").read_text())["eval_on_fixture_mnist"]


def test_old_checkpoint_evaluates_to_the_same_test_results(tmp_path, data_dir):
    # data_dir: the checkpoint names the folder it was trained from, gone since.
    result = run_in_process(
        "eval.py", f"ckpt_path={CHECKPOINT}", f"data_dir={data_dir}",
        f"paths.log_dir={tmp_path}", "trainer.accelerator=cpu", "trainer.enable_progress_bar=false",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    (metrics_file,) = tmp_path.glob("eval/*/metrics.json")
    metrics = json.loads(metrics_file.read_text())
    assert metrics["dataset"] == "mnist"
    assert metrics["test/acc"] == EXPECTED["test/acc"]
    # The last digits of the loss differ between CPUs (AVX2 and AVX-512 kernels): 1e-5 relative.
    assert metrics["test/loss"] == pytest.approx(EXPECTED["test/loss"], rel=1e-4)


def test_old_checkpoint_loads_with_no_config():
    model = LeNetModule.load_from_checkpoint(CHECKPOINT, map_location="cpu")
    assert model.hparams.activation == "tanh" and model.net.num_classes == 10
    assert model.hparams.get("grad_clip_norm") is None  # a key added since: its default
    assert sum(p.numel() for p in model.parameters()) == 61_706


def fixture_test_images(data_dir: Path, count: int) -> torch.Tensor:
    datamodule = DigitsDataModule(data_dir=str(data_dir), download=False)
    return datamodule.load_split(train=False)[0][:count]


def test_old_checkpoint_predicts_as_the_model_does(tmp_path, data_dir):
    image = fixture_test_images(data_dir, 1)[0, 0, 2:30, 2:30]  # the 28x28 original
    png = tmp_path / "digit.png"
    Image.fromarray(image.numpy()).save(png)
    cfg = compose_config(
        "predict", [f"ckpt_path={CHECKPOINT}", f"inputs=[{png}]"], tmp_path / "predict"
    )
    (row,) = predict_script.predict(cfg)
    model = LeNetModule.load_from_checkpoint(CHECKPOINT, map_location="cpu").eval()
    with torch.no_grad():
        expected = model(photo_to_input(png)[None]).argmax(1).item()
    assert row["class"] == str(expected)


def test_old_checkpoint_exports_and_checks_on_its_test_images(tmp_path, data_dir):
    output = tmp_path / "old.pt"
    overrides = [f"ckpt_path={CHECKPOINT}", f"output={output}", "format=torchscript",
                 f"data_dir={data_dir}", "check_images=64"]  # fmt: skip
    report = export_script.export(compose_config("export", overrides, tmp_path / "export"))
    assert output.is_file() and report["max_abs_diff"] < 1e-3
    assert report["checked_on"] == "64 mnist test images"  # data_dir reached the check


def test_eval_takes_its_own_dataset_folder_and_batch_size(tmp_path, data_dir):
    """dataset=, data_dir= and batch_size= on eval.py, from the command line or a yaml alike."""
    overrides = [f"ckpt_path={CHECKPOINT}", f"data_dir={data_dir}", "dataset=usps",
                 "batch_size=7", "trainer.accelerator=cpu",
                 "trainer.enable_progress_bar=false"]  # fmt: skip
    metrics = eval_script.evaluate(compose_config("eval", overrides, tmp_path / "eval"))
    assert metrics["dataset"] == "usps"


def test_eval_reads_its_data_keys_from_a_yaml(tmp_path, data_dir):
    """The keys a config file sets apply as those typed do (they were dropped before)."""
    conf = tmp_path / "conf"
    conf.mkdir()
    (conf / "mine.yaml").write_text(
        f"defaults:\n  - eval\n  - _self_\n\nckpt_path: {CHECKPOINT}\n"
        f"data_dir: {data_dir}\ndataset: usps\nbatch_size: 9\n"
    )
    result = run_in_process("eval.py", f"--config-dir={conf}", "--config-name=mine",
                        f"hydra.run.dir={tmp_path / 'eval'}", "trainer.accelerator=cpu",
                        "trainer.enable_progress_bar=false")  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert json.loads((tmp_path / "eval" / "metrics.json").read_text())["dataset"] == "usps"


def test_an_old_run_folder_is_refused_by_resume_in_one_line(tmp_path):
    run_dir = tmp_path / "2026-11-27_06-34-37_lenet_tanh_mnist"
    (run_dir / ".hydra").mkdir(parents=True)
    (run_dir / "checkpoints").mkdir()
    shutil.copy(ASSET / "config.yaml", run_dir / ".hydra" / "config.yaml")
    shutil.copy(CHECKPOINT, run_dir / "checkpoints" / "last.ckpt")
    result = run_in_process("train.py", f"resume={run_dir}")
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert result.stderr.startswith(f"error: resume={run_dir}: this run was saved by an older")
    assert "lenetlab.data.DigitsDataModule" in result.stderr
    assert sorted(p.name for p in run_dir.iterdir()) == [".hydra", "checkpoints"]  # untouched
