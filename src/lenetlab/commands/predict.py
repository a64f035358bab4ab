"""Classify pictures with a trained checkpoint: one row per file, the predicted class, its
probability and the top 3 (usage: src/predict.py)."""

import csv
import json
import sys
from pathlib import Path

import torch
from omegaconf import DictConfig, ListConfig
from PIL import Image, UnidentifiedImageError
from torch.utils.data import DataLoader, Dataset

from lenetlab.data.photo import NotADigitPhoto, photo_to_input
from lenetlab.errors import UsageError
from lenetlab.records.loading import checkpoint_datamodule, load_trained_model

IMAGE_SUFFIXES = {ext for ext, fmt in Image.registered_extensions().items() if fmt in Image.OPEN}


def find_files(inputs: list[str]) -> list[Path]:
    """Files as given; folders expanded to the image files inside them, sorted."""
    files = []
    for entry in map(Path, inputs):
        if entry.is_dir():
            found = sorted(p for p in entry.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
            files += [p for p in found if p.is_file()]
        elif entry.exists():
            files.append(entry)
        else:
            raise UsageError(f"inputs: {entry} does not exist")
    return files


class Pictures(Dataset):
    def __init__(self, files: list[Path], dataset: str):
        self.files, self.dataset = files, dataset

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, index: int):
        try:
            return photo_to_input(self.files[index], self.dataset), ""
        except (UnidentifiedImageError, NotADigitPhoto, OSError) as error:
            reason = "not an image" if isinstance(error, UnidentifiedImageError) else str(error)
            return torch.zeros(1, 32, 32, dtype=torch.uint8), reason


@torch.inference_mode()
def predict(cfg: DictConfig) -> list[dict]:
    inputs = cfg.inputs if isinstance(cfg.inputs, ListConfig) else [cfg.inputs]
    model, data_hparams = load_trained_model(cfg.ckpt_path)
    datamodule = checkpoint_datamodule(data_hparams, cfg.dataset, None)  # framing, class names
    dataset, classes = datamodule.hparams.dataset, datamodule.source.classes
    files = find_files(list(inputs))
    if not files:
        raise UsageError(f"inputs={list(inputs)}: no image files found")
    workers = cfg.num_workers if len(files) > cfg.batch_size else 0
    loader = DataLoader(Pictures(files, dataset), cfg.batch_size, num_workers=workers)

    rows = []
    for images, errors in loader:
        probabilities = model(images).softmax(dim=1)
        top = probabilities.topk(3, dim=1)
        for values, indices, error in zip(top.values, top.indices, errors, strict=True):
            path = str(files[len(rows)])
            if error:
                rows.append({"file": path, "error": error})
                continue
            top3 = [(classes[i], round(float(v), 4)) for v, i in zip(values, indices, strict=True)]
            rows.append({"file": path, "class": top3[0][0], "confidence": top3[0][1], "top3": top3})
    return rows


def format_row(row: dict) -> str:
    if "error" in row:
        return f"{row['file']}: error: {row['error']}"
    top3 = ", ".join(f"{name} {p:.3f}" for name, p in row["top3"])
    return f"{row['file']}: {row['class']} ({row['confidence']:.3f})  top-3: {top3}"


def write_rows(path: Path, rows: list[dict]) -> None:
    if path.suffix == ".json":
        path.write_text(json.dumps(rows, indent=2) + "\n")
    elif path.suffix == ".csv":
        with open(path, "w", newline="") as f:
            writer = csv.DictWriter(f, ["file", "class", "confidence", "top3", "error"])
            writer.writeheader()
            for row in rows:
                top3 = " ".join(f"{name}:{p}" for name, p in row.get("top3", []))
                writer.writerow(row | {"top3": top3})


def main(cfg: DictConfig) -> None:
    rows = predict(cfg)
    for row in rows:
        print(format_row(row))
    if cfg.output:
        write_rows(Path(cfg.output), rows)
    failed = sum("error" in row for row in rows)
    if failed:
        print(f"{failed} of {len(rows)} files could not be predicted", file=sys.stderr)
        raise SystemExit(1)
