#!/usr/bin/env bash
# On the lent GPU machine, after scripts/gpu-prep.sh here: the GPU test tier and the GPU benchmark,
# their logs in $OUT. One call of the device tool, .gpu carried, about 5 minutes:
#   bash scripts/gpu-check.sh
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-/tmp/gpu-check}
mkdir -p "$OUT" /tmp/site
python3 -m pip install -q --no-index --no-deps --target /tmp/site .gpu/wheels/*.whl || exit 1
export PYTHONPATH=/tmp/site PYTHONUNBUFFERED=1 LENETLAB_SHARED_MNIST=$PWD/.gpu/MNIST
mkdir -p data/MNIST/raw
for f in .gpu/MNIST/*.gz; do gunzip -c "$f" > "data/MNIST/raw/$(basename "$f" .gz)"; done
{ nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv
  python3 -c "import torch, lightning; print('torch', torch.__version__, 'lightning', lightning.__version__)"
} 2>&1 | tee "$OUT/machine.txt"
python3 -m pytest -m gpu -q -p no:cacheprovider --durations=10 2>&1 | tee "$OUT/test-gpu.log"
python3 bench/speed.py --device cuda --variant trainer.precision=bf16-mixed \
    --variant compile=true 2>&1 | grep -v "Warning\|warn(" | tee "$OUT/bench-gpu.log"
