"""Ship a trained run as ``pretrained:<name>``: its tested checkpoint, without the optimizer's
and loops' state, into src/lenetlab/pretrained/<name>.ckpt, and how it was made beside it
(<name>.json: the command, seed, date, machine, commit and its test accuracy on real MNIST).

    python src/train.py seed=1                        # the run to ship (real MNIST in data/)
    python scripts/ship_pretrained.py outputs/<run> lenet_tanh

``make pretrained`` trains and ships every shipped model.
"""

import argparse
import json
import subprocess
from pathlib import Path

import torch
from omegaconf import OmegaConf

from lenetlab.choices import PARTS
from lenetlab.training.devices import cpu_model

REPO = Path(__file__).resolve().parents[1]
FOLDER = REPO / "src" / "lenetlab" / "pretrained"
# What LeNetModule.load_from_checkpoint and the commands read; the rest is for resuming.
KEPT = ("state_dict", "hyper_parameters", "hparams_name", "datamodule_hyper_parameters",
        "datamodule_hparams_name", "pytorch-lightning_version", "epoch", "global_step",
        "val_acc_best")  # fmt: skip
LOCAL = ("paths.", "trainer.enable_progress_bar")  # this machine's, not the recipe's


def ship(run_dir: Path, name: str) -> dict:
    metrics = json.loads((run_dir / "metrics.json").read_text())
    overrides = OmegaConf.load(run_dir / ".hydra" / "overrides.yaml")
    config = OmegaConf.load(run_dir / ".hydra" / "config.yaml")
    tested = Path(metrics["tested_checkpoint"])  # the one its test accuracy is of
    checkpoint = torch.load(tested, map_location="cpu", weights_only=False)
    slim = {key: checkpoint[key] for key in KEPT if key in checkpoint}
    data = dict(slim["datamodule_hyper_parameters"])
    data["data_dir"] = "data"  # the machine's own folder is meaningless elsewhere
    slim["datamodule_hyper_parameters"] = data
    torch.save(slim, FOLDER / f"{name}.ckpt")
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO,
                            capture_output=True, text=True).stdout.strip()  # fmt: skip
    record = {
        "name": name,
        "command": " ".join(
            ["python src/train.py", *[o for o in overrides if not o.startswith(LOCAL)]]
        ),
        "seed": config.seed,
        "date": run_dir.name[:10],
        "machine": f"{cpu_model()}, {torch.get_num_threads()} threads, torch {torch.__version__}",
        "commit": commit,
        "checkpoint": f"{tested.name} (epoch {checkpoint['epoch'] + 1} of {metrics['epochs']})",
        "test/acc": metrics["test/acc"],
        "test/loss": metrics["test/loss"],
        "dataset": data["dataset"],
        "network": {part: slim["hyper_parameters"][part] for part in PARTS},
    }
    (FOLDER / f"{name}.json").write_text(json.dumps(record, indent=2, default=str) + "\n")
    return record


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("name")
    args = parser.parse_args()
    record = ship(args.run_dir, args.name)
    size = (FOLDER / f"{args.name}.ckpt").stat().st_size
    print(f"pretrained:{args.name}: test/acc {record['test/acc']:.4f}, {size / 1024:.0f} KB")
