"""Export a checkpoint to ONNX or TorchScript, and check the export against PyTorch.

    python src/export.py ckpt_path=outputs/<run>/checkpoints/best.ckpt              # -> best.onnx
    python src/export.py ckpt_path=outputs/<run>/checkpoints/best.ckpt format=torchscript

The exported model takes raw pixels, float32 (N, 1, 32, 32) in [0, 255], light ink on black as
in the dataset (src/lenetlab/data/photo.py prepares a photo): the input normalisation is part of the
graph, and the batch size is free. It returns logits. Beside it, <file>.json (best.onnx.json)
records the input, the class names and the check. The check runs the export (onnxruntime for
ONNX) and PyTorch on test images of the checkpoint's dataset and prints the largest difference
between their logits.
The ONNX file stands alone: its weights are inside it. The code: src/lenetlab/commands/export.py.
"""

from lenetlab.cli.launch import launch

if __name__ == "__main__":
    launch("lenetlab.commands.export", config_name="export")
