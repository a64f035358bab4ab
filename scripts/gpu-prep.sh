#!/usr/bin/env bash
# Before a GPU check on a lent device machine (an image with torch, lightning, torchmetrics and
# tensorboard, but no hydra and no network): put what it lacks in .gpu/ (git-ignored, small
# enough to travel with the working tree), then run scripts/gpu-check.sh there with .gpu carried.
#   bash scripts/gpu-prep.sh          # here, on the CPU machine
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p .git/info && touch .git/info/exclude
grep -qxF '/.gpu/' .git/info/exclude || echo '/.gpu/' >> .git/info/exclude
rm -rf .gpu && mkdir -p .gpu/wheels .gpu/MNIST
# Pure-Python wheels: any Python 3 there (its python3 is 3.12) installs them.
python3 -m pip download -q --no-deps --only-binary=:all: -d .gpu/wheels \
    hydra-core==1.3.8 omegaconf==2.3.0
python3 -m pip wheel -q --no-deps -w .gpu/wheels antlr4-python3-runtime==4.9.3  # sdist only
cp ../shared/data/MNIST/*.gz .gpu/MNIST/
du -sh .gpu
