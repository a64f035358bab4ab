"""Cost of data.augment on a training step, relative to no augmentation, in one run.

    python bench/distortions.py [--batches 50] [--batch-size 128]

Times lenet_relu training steps (forward, backward, SGD step) on random 32x32 uint8 batches with
no augmentation, with `distortions` and with `elastic`, and prints images/s and the ratio to the
un-augmented step. Runs on the GPU when one is available.
"""

import argparse
import time

import torch
import torch.nn.functional as F

from lenetlab.data.distortions import Distortions
from lenetlab.models.module import LeNetModule

AUGMENTS = {"none": None, "distortions": Distortions(), "elastic": Distortions(elastic=True)}


def images_per_second(augment, batches, batch_size, device) -> float:
    model = LeNetModule(activation="relu", pool="max").to(device)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    images = torch.randint(0, 256, (batch_size, 1, 32, 32), dtype=torch.uint8, device=device)
    labels = torch.randint(0, 10, (batch_size,), device=device)

    def step():
        batch = augment(images) if augment else images
        loss = F.cross_entropy(model(batch), labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

    for _ in range(5):  # warm-up
        step()
    if device.type == "cuda":
        torch.cuda.synchronize()
    started = time.perf_counter()
    for _ in range(batches):
        step()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return batches * batch_size / (time.perf_counter() - started)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=50)
    parser.add_argument("--batch-size", type=int, default=128)
    args = parser.parse_args()
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    torch.manual_seed(0)
    rates = {name: images_per_second(aug, args.batches, args.batch_size, device)
             for name, aug in AUGMENTS.items()}  # fmt: skip
    print(f"device {device}, batch {args.batch_size}, {args.batches} steps each")
    for name, rate in rates.items():
        print(f"{name:12s} {rate:9.0f} img/s   x{rate / rates['none']:.2f} of no augmentation")


if __name__ == "__main__":
    main()
