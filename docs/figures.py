"""Make the docs' figures: a learning curve and TensorBoard screenshots.

    python src/train.py hydra.run.dir=/tmp/runs/lenet_tanh_mnist
    python docs/figures.py /tmp/runs/lenet_tanh_mnist

writes docs/learning_curve.png (matplotlib, from the run's event file) and docs/tensorboard.png
(a real TensorBoard on localhost, photographed by headless Chromium: `apt install chromium`);

    python src/train.py hparams_search=mnist_optuna hydra.sweeper.n_trials=10 \
        trainer.max_epochs=2 hydra.sweep.dir=/tmp/runs/search
    python docs/figures.py --search /tmp/runs/search

writes docs/tensorboard_hparams.png, the HPARAMS tab of that search.
"""

import argparse
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import matplotlib.pyplot as plt
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

DOCS = Path(__file__).resolve().parent


def learning_curve(run_dir: Path, output: Path) -> None:
    events = EventAccumulator(str(run_dir), size_guidance={"scalars": 0})
    events.Reload()
    steps_per_epoch = events.Scalars("val/acc")[0].step
    figure, (loss_ax, acc_ax) = plt.subplots(1, 2, figsize=(10, 3.6))
    for tag, label in (("train/loss_step", "train (steps)"), ("val/loss", "validation")):
        points = events.Scalars(tag)
        loss_ax.plot([p.step / steps_per_epoch for p in points], [p.value for p in points],
                     label=label)  # fmt: skip
    loss_ax.set(xlabel="epoch", ylabel="cross-entropy", yscale="log", title="loss")
    for tag, label in (("train/acc", "train"), ("val/acc", "validation")):
        points = events.Scalars(tag)
        acc_ax.plot(range(1, len(points) + 1), [100 * p.value for p in points], "o-", label=label)
    test_acc = 100 * events.Scalars("test/acc")[-1].value
    acc_ax.axhline(test_acc, color="gray", linestyle="--", label=f"test {test_acc:.2f} %")
    acc_ax.set(xlabel="epoch", ylabel="accuracy (%)", ylim=(96, 100), title="accuracy")
    for ax in (loss_ax, acc_ax):
        ax.grid(alpha=0.3)
        ax.legend()
    figure.suptitle(f"{run_dir.name}: LeNet-5 (tanh) on MNIST, `make train`")
    figure.tight_layout()
    figure.savefig(output, dpi=110)
    print(f"wrote {output}")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def tensorboard_screenshot(log_dir: Path, output: Path, route: str, size="1400,1000") -> None:
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "tensorboard.main", "--logdir", str(log_dir), "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        url = f"http://127.0.0.1:{port}/"
        for _ in range(60):  # wait for the server
            try:
                urllib.request.urlopen(url, timeout=1)
                break
            except OSError:
                time.sleep(1)
        subprocess.run(
            [
                "chromium",
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--hide-scrollbars",
                f"--window-size={size}",
                "--virtual-time-budget=20000",
                f"--screenshot={output}",
                url + route,
            ],
            check=True,
            capture_output=True,
            timeout=120,
        )
        print(f"wrote {output}")
    finally:
        server.terminate()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", type=Path, help="a finished train.py run directory")
    parser.add_argument("--search", action="store_true", help="run_dir is a sweep directory")
    args = parser.parse_args()
    if args.search:  # the HPARAMS tab's table view, as it opens
        tensorboard_screenshot(
            args.run_dir, DOCS / "tensorboard_hparams.png", "#hparams", "2100,620"
        )
        return
    learning_curve(args.run_dir, DOCS / "learning_curve.png")
    # The SCALARS dashboard (SVG charts, which headless Chromium draws without a GPU), filtered
    # to the accuracy and loss curves.
    route = "#scalars&tagFilter=acc%24%7Closs_epoch%7Cval%2Floss"
    tensorboard_screenshot(args.run_dir.parent, DOCS / "tensorboard.png", route)


if __name__ == "__main__":
    main()
