"""Every name a config can choose from: the network's parts, the datasets and their augmentations,
and the metrics a run logs (what ``monitor:`` and ``optimized_metric`` name).

It imports nothing, so a command checks its config (cli/checks.py) before torch and Lightning load;
the code that implements each name (models/lenet5.py, data/sources.py, models/module.py) takes it
from here, so a name and its implementation cannot drift apart.
"""

# LeNet5's parts and their choices (models/lenet5.py). A new part is an argument of LeNet5, an
# entry here and a line in conf/model/lenet_tanh.yaml: LeNetModule passes it through and
# checkpoints save it.
PARTS = {
    "activation": ("sigmoid", "tanh", "relu", "scaled_tanh"),
    "pool": ("avg", "max", "subsample"),
    "c3": ("full", "sparse"),
    "head": ("linear", "rbf"),
    "init": ("auto", "lecun1998"),
    "norm": ("none", "batch"),
}

DATASETS = ("mnist", "fashion_mnist", "usps")  # data/sources.py: where each one's files are
AUGMENTATIONS = (None, "distortions", "elastic")  # data.augment (data/distortions.py)

# What LeNetModule logs; runs, callbacks and sweeps read the metrics by these names.
TRAIN_LOSS_STEP = "train/loss_step"  # to the loggers, every log_every_n_steps
TRAIN_LOSS = "train/loss"  # the progress bar's
TRAIN_LOSS_EPOCH = "train/loss_epoch"
TRAIN_ACC = "train/acc"
VAL_LOSS = "val/loss"
VAL_ACC = "val/acc"
VAL_ACC_BEST = "val/acc_best"
TEST_LOSS = "test/loss"
TEST_ACC = "test/acc"
# Logged once an epoch: what a checkpoint or early stopping can monitor.
EPOCH_METRICS = (VAL_ACC, VAL_LOSS, TRAIN_ACC, TRAIN_LOSS_EPOCH)
# The metrics a run ends with: metrics.json, TensorBoard's HPARAMS, what sweepers optimise.
RESULT_METRICS = (VAL_ACC_BEST, TEST_ACC, TEST_LOSS)

EXPORT_FORMATS = ("onnx", "torchscript")  # export.py's format=
