"""Models that ship trained (lenetlab/pretrained): each loads and reads digits, small, with how
it was made beside it; predict, export and demo use the default recipe's with no ckpt_path; the
slow tier checks each recorded test accuracy on real MNIST."""

import json
from pathlib import Path

import pytest
import torch
from PIL import Image, ImageDraw

from conftest import SHARED_MNIST, assert_one_line, compose_config, run_in_process
from lenetlab import pretrained
from lenetlab.commands import evaluate as eval_script
from lenetlab.commands.export import default_output
from lenetlab.data.photo import photo_to_input
from lenetlab.records.loading import load_trained_model

SHIPPED = pretrained.names()
RECORDED = ("command", "seed", "date", "machine", "commit", "test/acc", "network")


def written_seven(path: Path) -> Path:
    page = Image.new("L", (300, 300), 230)  # a 7 in dark ink on light paper
    ImageDraw.Draw(page).line([(80, 70), (220, 70), (140, 250)], fill=20, width=24)
    page.save(path)
    return path


def test_the_default_recipe_and_the_1998_network_ship():
    assert {"lenet_tanh", "lenet5_1998"} <= set(SHIPPED)
    assert pretrained.DEFAULT in SHIPPED


@pytest.mark.parametrize("name", SHIPPED)
def test_a_shipped_model_loads_reads_a_digit_and_says_how_it_was_made(name, tmp_path):
    file = pretrained.checkpoint_file(pretrained.PREFIX + name)
    assert file.stat().st_size < 1_000_000
    record = pretrained.record(name)
    assert all(key in record for key in RECORDED), record
    assert record["command"].startswith("python src/train.py") and record["test/acc"] > 0.98
    model, data_hparams = load_trained_model(pretrained.PREFIX + name)
    assert data_hparams["dataset"] == "mnist"
    assert {k: model.hparams[k] for k in record["network"]} == record["network"]
    with torch.no_grad():
        probabilities = model(photo_to_input(written_seven(tmp_path / "7.png"))[None]).softmax(1)
    assert int(probabilities.argmax()) == 7


def test_predict_with_no_checkpoint_uses_the_default_model(tmp_path):
    result = run_in_process("predict.py", f"inputs=[{written_seven(tmp_path / 'mine.png')}]")
    assert result.returncode == 0, result.stderr
    assert f"{tmp_path / 'mine.png'}: 7 (" in result.stdout


def test_a_shipped_model_exports_into_the_working_folder_not_the_package():
    assert default_output("pretrained:lenet_tanh", "onnx") == Path("lenet_tanh.onnx")
    assert default_output("outputs/run/checkpoints/best.ckpt", "torchscript") == Path(
        "outputs/run/checkpoints/best.pt"
    )


def test_an_unknown_shipped_name_is_one_line_that_lists_them(tmp_path):
    result = run_in_process("predict.py", "ckpt_path=pretrained:lenet_nine",
                            f"inputs=[{written_seven(tmp_path / '7.png')}]")  # fmt: skip
    names = [pretrained.PREFIX + name for name in SHIPPED]
    assert_one_line(result, "pretrained:lenet_nine", "ships trained: " + ", ".join(names))


@pytest.mark.slow
@pytest.mark.skipif(not SHARED_MNIST.is_dir(), reason="no real MNIST in ../shared/data/MNIST")
@pytest.mark.parametrize("name", SHIPPED)
def test_a_shipped_models_recorded_accuracy_holds_on_real_mnist(name, real_data_dir, tmp_path):
    cfg = compose_config("eval", [f"ckpt_path=pretrained:{name}", f"data_dir={real_data_dir}",
                                  "trainer.enable_progress_bar=false"], tmp_path)  # fmt: skip
    metrics = eval_script.evaluate(cfg)
    recorded = pretrained.record(name)
    # The last digits differ between CPUs (AVX2 and AVX-512 kernels): a test image at most.
    assert metrics["test/acc"] == pytest.approx(recorded["test/acc"], abs=1.5e-4)
    assert json.loads((tmp_path / "metrics.json").read_text())["test/acc"] == metrics["test/acc"]
