"""Export a checkpoint to ONNX or TorchScript, and check the export against PyTorch (usage:
src/export.py)."""

import contextlib
import io
import json
import logging
from pathlib import Path

import torch
from omegaconf import DictConfig

from lenetlab.data.datamodule import DigitsDataModule
from lenetlab.pretrained import checkpoint_file, is_pretrained
from lenetlab.records.loading import checkpoint_datamodule, load_trained_model

log = logging.getLogger(__name__)
SUFFIX = {"onnx": ".onnx", "torchscript": ".pt"}
TOLERANCE = 1e-3  # largest allowed difference in logits between the export and PyTorch


def check_images(datamodule: DigitsDataModule, count: int) -> tuple[torch.Tensor, str]:
    """Up to ``count`` test images of the checkpoint's dataset, or random pixels if it is absent."""
    if datamodule.missing_files():
        return torch.randint(0, 256, (count, 1, 32, 32)).float(), "random pixels (no test data)"
    images, _ = datamodule.load_split(train=False)
    described = f"{min(count, len(images))} {datamodule.hparams.dataset} test images"
    return images[:count].float(), described


def export_onnx(model: torch.nn.Module, example: torch.Tensor, path: Path, opset: int) -> None:
    """One self-contained file (the weights inside: 250 KB); the exporter's progress messages,
    printed on stdout, are left out."""
    batch = torch.export.Dim("batch", min=1)
    quiet = [logging.getLogger(name) for name in ("onnxscript", "onnx_ir", "torch.onnx")]
    levels = [logger.level for logger in quiet]
    for logger in quiet:  # their INFO lines would reach the console through Hydra's logging
        logger.setLevel(logging.WARNING)
    try:
        with contextlib.redirect_stdout(io.StringIO()):  # and some are print()s
            torch.onnx.export(
                model,
                (example,),
                str(path),
                input_names=["pixels"],
                output_names=["logits"],
                dynamic_shapes=({0: batch},),
                opset_version=opset,
                dynamo=True,
                external_data=False,
                verbose=False,
            )
    finally:
        for logger, level in zip(quiet, levels, strict=True):
            logger.setLevel(level)


def run_onnx(path: Path, images: torch.Tensor) -> torch.Tensor:
    import onnxruntime

    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return torch.from_numpy(session.run(["logits"], {"pixels": images.numpy()})[0])


def export_torchscript(model: torch.nn.Module, example: torch.Tensor, path: Path) -> None:
    torch.jit.save(torch.jit.trace(model, example), str(path))


def run_torchscript(path: Path, images: torch.Tensor) -> torch.Tensor:
    return torch.jit.load(str(path))(images)


def default_output(ckpt_path: str, export_format: str) -> Path:
    """Next to the checkpoint; a shipped model's in the working folder, not the package's."""
    file = checkpoint_file(ckpt_path).with_suffix(SUFFIX[export_format])
    return Path(file.name) if is_pretrained(ckpt_path) else file


@torch.inference_mode(False)
def export(cfg: DictConfig) -> dict:
    ckpt_path = checkpoint_file(cfg.ckpt_path)
    model, data_hparams = load_trained_model(ckpt_path)
    datamodule = checkpoint_datamodule(data_hparams, cfg.dataset, cfg.data_dir)
    dataset, classes = datamodule.hparams.dataset, list(datamodule.source.classes)
    model = torch.nn.Sequential(model.normalize, model.net).eval()  # raw pixels in, logits out
    output = Path(cfg.output) if cfg.output else default_output(cfg.ckpt_path, cfg.format)

    images, described = check_images(datamodule, cfg.check_images)
    with torch.no_grad():
        expected = model(images)
        if cfg.format == "onnx":
            export_onnx(model, images[:2], output, cfg.opset)
            actual = run_onnx(output, images)
        else:
            export_torchscript(model, images[:2], output)
            actual = run_torchscript(output, images)
    max_diff = float((actual - expected).abs().max())
    agree = float((actual.argmax(1) == expected.argmax(1)).float().mean())
    report = {
        "format": cfg.format,
        "file": str(output),
        "checkpoint": str(ckpt_path.resolve()),
        "dataset": dataset,
        "classes": classes,
        "input": {
            "name": "pixels",
            "shape": ["batch", 1, 32, 32],
            "dtype": "float32",
            "range": [0, 255],
            "layout": "light ink on black, as the dataset (normalisation is inside the model)",
        },
        "output": {"name": "logits", "shape": ["batch", len(classes)]},
        "checked_on": described,
        "max_abs_diff": max_diff,
        "same_predictions": agree,
    }
    sidecar = output.with_name(output.name + ".json")
    sidecar.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {output} and {sidecar}")
    print(f"checked on {described}: max |logit difference| {max_diff:.2e}, "
          f"same predictions {agree:.2%}")  # fmt: skip
    if max_diff > TOLERANCE:
        raise RuntimeError(f"the export differs from PyTorch by {max_diff:.2e} > {TOLERANCE}")
    return report


def main(cfg: DictConfig) -> None:
    export(cfg)
