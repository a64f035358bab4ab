# make train: install into .venv and train the default recipe (lenet_tanh on MNIST)
# make test:  install into .venv (with dev extras) and run the default test tier
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
SHARED_MNIST ?= ../shared/data/MNIST
MNIST_RAW := data/MNIST/raw

.PHONY: install trackers train demo test test-slow test-gpu browser slurm-up bench lint format data clean pretrained

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

# The trackers' extras, which the tests of logger=mlflow and logger=wandb need (make train does not)
trackers: $(VENV)/.trackers

$(VENV)/.trackers: $(VENV)/.installed
	$(PY) -m pip install --quiet -e '.[dev,mlflow,wandb]'
	touch $@

train: install data
	$(PY) src/train.py $(ARGS)

# The drawing page on http://127.0.0.1:7860/ with the shipped default model (Ctrl-C stops it)
demo: install
	$(PY) src/demo.py $(ARGS)

test: install trackers
	$(PY) -m pytest

test-slow: install trackers
	$(PY) -m pytest -m slow -n 0  # DDP and SLURM jobs take the cores themselves

# GPU tier: skipped where torch sees no CUDA device; real MNIST for the accuracy check (make data)
test-gpu: install data
	$(PY) -m pytest -m gpu -n 0
	$(PY) bench/speed.py --device cuda

# Speed: how fast a mistake is answered; lenetlab against the tutorial pipeline, start-up and
# time to 99 % (docs/benchmarks.md)
bench: install data
	$(PY) bench/usage_errors.py
	$(PY) bench/speed.py

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: install
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

# Unpack a local copy of MNIST (the four .gz files) if there is one; otherwise torchvision
# downloads MNIST into data/ on first use.
data:
	@if [ ! -f $(MNIST_RAW)/t10k-labels-idx1-ubyte ] && [ -d $(SHARED_MNIST) ]; then \
		mkdir -p $(MNIST_RAW); \
		for f in $(SHARED_MNIST)/*.gz; do gunzip -c "$$f" > $(MNIST_RAW)/$$(basename "$$f" .gz); done; \
		echo "unpacked $(SHARED_MNIST) into $(MNIST_RAW)"; \
	fi

# Debian's Chromium, which the drawing page's browser tests drive (tests/test_demo.py; root)
browser:
	@test -x /usr/bin/chromium || (apt-get update -qq && apt-get install -y -qq chromium)

# Train the shipped models again on real MNIST and ship them (src/lenetlab/pretrained/)
pretrained: install data
	$(PY) src/train.py seed=1 paths.log_dir=outputs/pretrained/lenet_tanh
	$(PY) scripts/ship_pretrained.py $$(ls -d outputs/pretrained/lenet_tanh/2*/ | tail -1) lenet_tanh
	$(PY) src/train.py experiment=lenet5_1998 seed=1 paths.log_dir=outputs/pretrained/lenet5_1998
	$(PY) scripts/ship_pretrained.py $$(ls -d outputs/pretrained/lenet5_1998/2*/ | tail -1) lenet5_1998
	$(PY) src/train.py experiment=mnist_best seed=1 paths.log_dir=outputs/pretrained/mnist_best
	$(PY) scripts/ship_pretrained.py $$(ls -d outputs/pretrained/mnist_best/2*/ | tail -1) mnist_best

clean:
	rm -rf $(VENV) outputs .pytest_cache .ruff_cache

# A one-node SLURM cluster on this machine (root: installs slurm-wlm and munge with apt-get),
# for trying the cluster path: python src/train.py -m hydra/launcher=slurm ... (docs/guide.md)
slurm-up:
	bash scripts/slurm-up.sh
