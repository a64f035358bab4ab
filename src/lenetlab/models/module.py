"""LeNetModule: LeNet-5 with its loss, metrics, optimizer and input normalisation.

Every constructor argument is a plain value (the optimizer and scheduler as Hydra ``_target_``
dicts), so ``save_hyperparameters`` captures the whole model and
``LeNetModule.load_from_checkpoint(path)`` rebuilds it with no config at hand.
"""

import torch
import torch.nn.functional as F
from hydra.utils import instantiate
from lightning import LightningModule
from torch import nn
from torchmetrics import MaxMetric
from torchmetrics.classification import MulticlassAccuracy

from lenetlab.choices import (
    TEST_ACC,
    TEST_LOSS,
    TRAIN_ACC,
    TRAIN_LOSS_EPOCH,
    TRAIN_LOSS_STEP,
    VAL_ACC,
    VAL_ACC_BEST,
    VAL_LOSS,
)
from lenetlab.errors import UsageError
from lenetlab.models.lenet5 import LeNet5
from lenetlab.models.sdlm import SDLM, gauss_newton_diagonal
from lenetlab.models.training_metrics import CountedAccuracy, StepMean
from lenetlab.run_folder import last_checkpoint

# A learning-rate scheduler's state that is its progress, not its shape.
PROGRESS = ("last_epoch", "_step_count", "_is_initial", "_get_lr_called_within_step", "_last_lr")


class TrainingDiverged(UsageError):
    """The loss became NaN or infinite; the message names the likely cause."""


class PixelNormalization(nn.Module):
    """Raw 0-255 pixels (uint8 or float) -> (x / 255 - mean) / std, as one fused affine map."""

    def __init__(self, mean: float, std: float):
        super().__init__()
        self.register_buffer("scale", torch.tensor(1.0 / (255.0 * std)), persistent=False)
        self.register_buffer("shift", torch.tensor(-mean / std), persistent=False)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return images.to(self.scale.dtype) * self.scale + self.shift


class LeNetModule(LightningModule):
    """``network``: the parts of LeNet5 (activation, pool, c3, head, ...; lenet5.PARTS), saved
    with the rest in the checkpoint's hyperparameters.

    ``grad_clip_norm``: clip the gradient norm at this value every step (unless
    trainer.gradient_clip_val says otherwise). A network part may need it to learn at all: the
    RBF head's gradients grow with the distance to its prototypes, and an unclipped step
    saturates the scaled-tanh F6 (conf/model/lenet5_1998.yaml sets it).
    """

    def __init__(
        self,
        rubbish_j: float | None = None,
        grad_clip_norm: float | None = None,
        input_mean: float = 0.0,
        input_std: float = 1.0,
        channels_last: bool = True,
        optimizer: dict | None = None,
        scheduler: dict | None = None,
        **network,
    ):
        super().__init__()
        self.save_hyperparameters()
        self.net = LeNet5(**network)
        num_classes = self.net.num_classes
        if channels_last:  # oneDNN's and cuDNN's faster convolution layout
            self.net.to(memory_format=torch.channels_last)
        # Inputs are raw 0-255 pixels: the model normalises them itself, so an exported model
        # (src/export.py: normalize followed by net) carries its own preprocessing.
        self.normalize = PixelNormalization(input_mean, input_std)
        self.example_input_array = torch.zeros(1, 1, 32, 32)

        # Updated every step: metrics of two in-place adds (models/training_metrics.py); a NaN or
        # infinite loss stays in train_loss's sum until the epoch ends (stop_if_diverged).
        self.train_loss = StepMean()
        self.train_acc = CountedAccuracy()
        # Their input checks (label values) would read each batch back from the device, a wait
        # for the GPU every batch; the inputs are ours.
        accuracy = {"num_classes": num_classes, "average": "micro", "validate_args": False}
        self.val_acc = MulticlassAccuracy(**accuracy)
        self.test_acc = MulticlassAccuracy(**accuracy)
        # Updated with val_acc's synced value: the same in every DDP rank, so never synced itself
        # (which also lets rank 0 save a checkpoint alone, as on Ctrl-C).
        self.val_acc_best = MaxMetric(sync_on_compute=False)
        self.restored_val_acc_best = None
        self.step_loss = None  # the loss of the last step the loggers got, for the progress bar
        self.compile_mode = None  # compile_training_step
        self.compiled = None  # (batch size, compiled step), made at the first training step

    def compile_training_step(self, mode: str = "default") -> None:
        """torch.compile the training step's tensor work - the network, the loss and, through
        AOTAutograd, their backward pass - as one graph (``fullgraph``: a graph break is an
        error, not a slow step). What reads the host (the divergence check, the step loss for
        the loggers) and the metrics' Python state stay outside it. Shapes are static: the
        batch size the first step has is the one compiled, and an epoch's smaller last batch
        runs eagerly, so nothing recompiles; ``mode="reduce-overhead"`` (CUDA graphs) needs that.
        Compiled at the first step: a copy made before it (EMA's averaged model) stays plain.
        """
        self.compile_mode = mode

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """(N, 1, 32, 32) raw pixels in [0, 255] -> (N, num_classes) logits."""
        return self.net(self.normalize(images))

    def _shared_step(self, batch, accuracy: MulticlassAccuracy):
        """The batch's loss and its logits (for callbacks that look at predictions)."""
        images, labels = batch
        loss, logits = self._loss_and_logits(images, labels)
        accuracy.update(logits, labels)
        return loss, logits

    def _loss_and_logits(self, images: torch.Tensor, labels: torch.Tensor):
        logits = self(images)
        return F.cross_entropy(self._scores(logits), labels), logits

    def _training_loss(self, images: torch.Tensor, labels: torch.Tensor):
        """The compiled step for the batch size it was compiled for, the eager one otherwise."""
        if self.compile_mode is None:
            return self._loss_and_logits(images, labels)
        if self.compiled is None:
            loader = self.trainer.train_dataloader if self._trainer is not None else None
            full = getattr(loader, "batch_size", None) or len(images)
            mode = None if self.compile_mode == "default" else self.compile_mode
            step = torch.compile(self._loss_and_logits, fullgraph=True, dynamic=False, mode=mode)
            self.compiled = (full, step)
        full, step = self.compiled
        if len(images) != full:  # the epoch's last, smaller batch
            return self._loss_and_logits(images, labels)
        return step(images, labels)

    def _scores(self, logits: torch.Tensor) -> torch.Tensor:
        """What the cross-entropy is taken over: the logits, and the rubbish class if any."""
        if self.hparams.rubbish_j is None:
            return logits
        # LeCun et al. (1998) eq. 9: a "rubbish" class with constant penalty j, so that
        # y_D + log(exp(-j) + sum_i exp(-y_i)) keeps pulling F6 toward its prototype
        # until the distance falls below j.
        rubbish = logits.new_full((len(logits), 1), -self.hparams.rubbish_j)
        return torch.cat([logits, rubbish], dim=1)

    def training_step(self, batch, batch_idx):
        images, labels = batch
        loss, logits = self._training_loss(images, labels)
        # No detach: a metric's update runs without autograd. The loss is summed on the device
        # and checked where the host waits anyway (steps that log, the epoch's end): reading
        # it here would stall a GPU's queue every step.
        self.train_acc.update(logits, labels)
        self.train_loss.update(loss)
        # Each self.log call costs Lightning about a millisecond, a tenth of a LeNet-5 step on a
        # CPU, and a value logged once is carried through its results every step after, so
        # none is logged per step: the epoch metrics are registered once (Lightning computes
        # and resets them at the epoch's end), and the step loss goes to the loggers and the
        # progress bar (step_loss: callbacks/progress_bar.py) as often as the loggers write.
        if batch_idx == 0:
            self.log(TRAIN_LOSS_EPOCH, self.train_loss, on_step=False, on_epoch=True)
            self.log(TRAIN_ACC, self.train_acc, on_step=False, on_epoch=True)
        if self.global_step % self.trainer.log_every_n_steps == 0:
            self.stop_if_diverged()
            self.step_loss = loss.item()
            for logger in self.loggers:
                logger.log_metrics({TRAIN_LOSS_STEP: self.step_loss}, step=self.global_step)
        return loss

    def on_validation_start(self):
        self.stop_if_diverged()  # before validation ends in a checkpoint of NaN weights

    def on_train_epoch_end(self):
        self.stop_if_diverged()  # runs without validation save their checkpoint after this

    def stop_if_diverged(self) -> None:
        """Raise TrainingDiverged if a loss of this epoch was NaN or infinite, in every DDP rank
        at once (any rank's loss counts), so that all of them stop together."""
        if self.trainer.sanity_checking or self.trainer.state.fn != "fit":
            return
        diverged = self.trainer.strategy.reduce_boolean_decision(
            not self.train_loss.finite(), all=False
        )
        if diverged:
            raise TrainingDiverged(self._divergence_message())

    def _divergence_message(self) -> str:
        lr = self.trainer.optimizers[0].param_groups[0]["lr"]
        last = last_checkpoint(self.trainer.default_root_dir)
        kept = f"the last good checkpoint is kept: {last}" if last.is_file() else None
        kept = kept or "no checkpoint was saved"
        return (
            f"training diverged: the loss became NaN or infinite by epoch "
            f"{self.current_epoch + 1}, step {self.global_step}. The usual cause is a learning "
            f"rate too high for this model (now {lr:.3g}): lower optimizer.lr, or clip gradients "
            f"with model.grad_clip_norm=1.0; {kept}"
        )

    def on_train_epoch_start(self):
        optimizer = self.optimizers().optimizer
        if isinstance(optimizer, SDLM):  # the paper re-estimates its curvature before each pass
            optimizer.set_curvature(self._curvature_estimate())

    def _curvature_estimate(self, samples: int = 500) -> dict:
        """SDLM's Hessian diagonal on ``samples`` training images, the same on every process."""
        dataset = self.trainer.train_dataloader.dataset
        device = self.device
        generator = torch.Generator(device=device)
        generator.manual_seed(torch.initial_seed() + self.current_epoch)  # the run's seed
        chosen = torch.randperm(len(dataset), generator=generator, device=device)[:samples]
        images = torch.stack([dataset[i][0] for i in chosen.tolist()]).to(device)
        return gauss_newton_diagonal(self, images, self._scores, generator)

    def on_train_start(self):
        self.val_acc_best.reset()  # forget the sanity-check validation
        if self.restored_val_acc_best is not None:  # resumed: remember the run so far
            self.val_acc_best.update(torch.tensor(self.restored_val_acc_best))
        if self.trainer.ckpt_path:
            self._follow_this_runs_schedule()

    def _follow_this_runs_schedule(self) -> None:
        """Resumed with another length (``resume=<run> trainer.max_epochs=N``): the scheduler's
        progress comes from the checkpoint, its shape (T_max, total_steps) from this run's
        settings, and the rate is set to what that shape gives at this step, so the new epochs
        follow the schedule a run started with N epochs would."""
        for config in self.trainer.lr_scheduler_configs:
            scheduler, fresh = config.scheduler, self._fresh_schedule
            restored = scheduler.state_dict()
            if all(restored.get(k) == v for k, v in fresh.items() if k not in PROGRESS):
                continue  # the same schedule: carry on exactly as it was
            scheduler.load_state_dict(fresh | {k: restored[k] for k in PROGRESS})
            if hasattr(scheduler, "_get_closed_form_lr"):  # cosine, step, constant
                rates = scheduler._get_closed_form_lr()
                for group, rate in zip(scheduler.optimizer.param_groups, rates, strict=True):
                    group["lr"] = rate
                scheduler._last_lr = rates
            else:  # one-cycle: its rate is a function of the step alone
                scheduler.last_epoch -= 1
                scheduler.step()

    def on_save_checkpoint(self, checkpoint: dict) -> None:
        # torchmetrics states are not in the state_dict: keep the best so far for resuming.
        if self.val_acc_best.update_called:
            checkpoint["val_acc_best"] = float(self.val_acc_best.compute())

    def on_load_checkpoint(self, checkpoint: dict) -> None:
        self.restored_val_acc_best = checkpoint.get("val_acc_best")

    def validation_step(self, batch, batch_idx):
        loss, _ = self._shared_step(batch, self.val_acc)
        self.log(VAL_LOSS, loss, on_step=False, on_epoch=True, sync_dist=True)
        self.log(VAL_ACC, self.val_acc, on_step=False, on_epoch=True, prog_bar=True)

    def on_validation_epoch_end(self):
        self.val_acc_best(self.val_acc.compute())  # compute() syncs across DDP ranks
        self.log(VAL_ACC_BEST, self.val_acc_best.compute(), sync_dist=True)  # same in every rank

    def test_step(self, batch, batch_idx):
        loss, logits = self._shared_step(batch, self.test_acc)
        self.log(TEST_LOSS, loss, on_step=False, on_epoch=True, sync_dist=True)
        self.log(TEST_ACC, self.test_acc, on_step=False, on_epoch=True)
        return logits  # on_test_batch_end's outputs (PredictionImages)

    def configure_gradient_clipping(self, optimizer, gradient_clip_val=None,
                                    gradient_clip_algorithm=None):  # fmt: skip
        if gradient_clip_val is None and self.hparams.get("grad_clip_norm"):
            gradient_clip_val, gradient_clip_algorithm = self.hparams.grad_clip_norm, "norm"
        self.clip_gradients(optimizer, gradient_clip_val, gradient_clip_algorithm)

    def configure_optimizers(self):
        optimizer = instantiate(self.hparams.optimizer, params=self.parameters())
        if not self.hparams.scheduler:
            return optimizer
        scheduler_cfg = dict(self.hparams.scheduler)
        interval = scheduler_cfg.pop("interval", "epoch")
        if "total_steps" in scheduler_cfg and scheduler_cfg["total_steps"] is None:
            scheduler_cfg["total_steps"] = int(self.trainer.estimated_stepping_batches)
        scheduler = instantiate(scheduler_cfg, optimizer=optimizer)
        self._fresh_schedule = scheduler.state_dict()  # this run's shape, for a resume
        return {
            "optimizer": optimizer,
            "lr_scheduler": {"scheduler": scheduler, "interval": interval},
        }
