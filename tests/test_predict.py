"""predict.py: pictures of a digit, however they are drawn, reach the model as the digit."""

import csv
import json

import numpy as np
import pytest
import torch
from PIL import Image

from conftest import quiet_train_config, run_in_process
from lenetlab.commands import train as train_script
from lenetlab.data.photo import photo_to_input
from lenetlab.models.module import LeNetModule


def glyph() -> np.ndarray:
    """A 7-like stroke, light on black, 28x28: asymmetric, so flips and shifts show."""
    image = np.zeros((28, 28), dtype=np.uint8)
    image[6:9, 8:21] = 255  # top bar
    for row in range(9, 23):  # diagonal down to the left
        col = 20 - (row - 9) // 2
        image[row, col - 1 : col + 2] = 255
    return image


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory, data_dir):
    cfg = quiet_train_config(data_dir, tmp_path_factory.mktemp("run"), "trainer.max_epochs=2")
    return train_script.train(cfg)["best_checkpoint"]


def save_variants(folder, digit: np.ndarray) -> dict[str, np.ndarray]:
    """The digit as people save it: dark on light, colour, other sizes, margins, transparency."""
    folder.mkdir(exist_ok=True)
    big = Image.fromarray(digit).resize((112, 112), Image.Resampling.BICUBIC)
    files = {}
    dark_on_light = Image.new("L", (180, 150), 235)
    dark_on_light.paste(Image.fromarray(255 - np.asarray(big)), (40, 20))
    files["dark_on_light.png"] = dark_on_light
    colour = Image.new("RGB", (90, 120), (10, 20, 60))
    colour.paste(big.resize((56, 56)).convert("RGB"), (12, 30))
    files["light_on_dark.jpg"] = colour
    files["native.bmp"] = Image.fromarray(digit)
    ink = Image.new("RGBA", (112, 112), (0, 0, 0, 0))  # black ink on a transparent background
    ink.putalpha(big)
    files["transparent.png"] = ink
    for name, image in files.items():
        image.save(folder / name, quality=95) if name.endswith(".jpg") else image.save(
            folder / name
        )
    return files


def test_every_way_of_saving_a_digit_gives_the_same_input(tmp_path):
    reference = photo_to_input(save_one(tmp_path, glyph()))  # MNIST form: 20x20 box, centred
    for name in save_variants(tmp_path / "variants", glyph()):
        converted = photo_to_input(tmp_path / "variants" / name)
        assert converted.shape == (1, 32, 32) and converted.dtype == torch.uint8
        difference = (converted.float() - reference.float()).abs().mean()
        assert difference < 12, f"{name}: mean pixel difference {difference:.1f}"


def save_one(folder, digit: np.ndarray):
    path = folder / "reference.png"
    Image.fromarray(digit).save(path)
    return path


def test_mnist_geometry_box_and_centre_of_mass(tmp_path):
    image = photo_to_input(save_one(tmp_path, glyph()))[0, 2:30, 2:30].float()  # the 28x28 part
    rows, cols = np.nonzero(image.numpy() > 40)
    assert max(rows.max() - rows.min(), cols.max() - cols.min()) + 1 in (19, 20, 21)
    total = image.sum()
    grid = torch.arange(28.0)
    centre = ((image.sum(1) * grid).sum() / total, (image.sum(0) * grid).sum() / total)
    assert abs(centre[0] - 13.5) < 1 and abs(centre[1] - 13.5) < 1


def run_predict(*args):
    return run_in_process("predict.py", *args)


def test_predict_agrees_with_the_model_and_reports_bad_files(tmp_path, checkpoint):
    photos = tmp_path / "photos"
    save_variants(photos, glyph())
    (photos / "notes.txt").write_text("not a picture")  # skipped: folders give image files only
    not_image = tmp_path / "broken.png"
    not_image.write_bytes(b"\x89PNG but not really")
    output = tmp_path / "predictions.json"

    result = run_predict(
        f"ckpt_path={checkpoint}", f"inputs=[{photos},{not_image}]", f"output={output}"
    )
    assert result.returncode == 1  # one file failed
    rows = json.loads(output.read_text())
    assert len(rows) == 5 and rows[-1] == {"file": str(not_image), "error": "not an image"}
    assert f"{not_image}: error: not an image" in result.stdout

    model = LeNetModule.load_from_checkpoint(checkpoint, map_location="cpu").eval()
    with torch.inference_mode():
        expected = str(int(model(photo_to_input(save_one(tmp_path, glyph()))[None]).argmax()))
    for row in rows[:-1]:
        assert row["class"] == expected, row
        names = [name for name, _ in row["top3"]]
        assert names[0] == expected and len(set(names)) == 3
        assert 0 < row["confidence"] <= 1 and row["confidence"] == row["top3"][0][1]


def test_predict_writes_csv_and_names_fashion_classes(tmp_path, checkpoint):
    fashion = tmp_path / "fashion.ckpt"
    saved = torch.load(checkpoint, map_location="cpu", weights_only=False)
    saved["datamodule_hyper_parameters"]["dataset"] = "fashion_mnist"
    torch.save(saved, fashion)
    save_one(tmp_path, glyph())
    output = tmp_path / "predictions.csv"
    result = run_predict(f"ckpt_path={fashion}", f"inputs={tmp_path / 'reference.png'}",
                         f"output={output}")  # fmt: skip
    assert result.returncode == 0, result.stderr
    (row,) = csv.DictReader(output.open())
    classes = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt"]
    classes += ["Sneaker", "Bag", "Ankle boot"]
    assert row["class"] in classes and row["top3"].startswith(row["class"] + ":")
