"""PredictionImages: what the model gets right and wrong, as pictures (callbacks/pictures.py:
TensorBoard's IMAGES tab, MLflow, W&B).

After each validation: a grid of validation images with their predicted labels
(``val/predictions``). After testing: the test images it is most confidently wrong about, with
true and predicted labels (``test/worst_mistakes``: true->predicted), the confusion matrix
(``test/confusion_matrix``) and the accuracy of each class (``test/acc_class/<name>``).
Drawn only at epoch ends; validation images take one extra forward pass, test images reuse
the test step's logits.
Under DDP each figure shows rank 0's share of the test set.
"""

import numpy as np
import torch
import torch.nn.functional as F
from lightning import Callback
from PIL import Image, ImageDraw
from torchmetrics.classification import MulticlassConfusionMatrix

from lenetlab.callbacks.pictures import Pictures

TILE, CAPTION = 64, 14  # pixels: each image twice its size, a caption line under it
COLORS = {"right": (80, 220, 80), "wrong": (255, 80, 80)}


def image_grid(images, captions, colors, columns: int = 8) -> np.ndarray:
    """(H, W, 3) uint8: grey images in a grid, each with a coloured caption under it.

    Drawn with PIL, a few milliseconds (a matplotlib figure of subplots takes most of a second).
    """
    rows = (len(images) + columns - 1) // columns
    grid = Image.new("RGB", (columns * TILE, rows * (TILE + CAPTION)))
    draw = ImageDraw.Draw(grid)
    for index, (image, caption, color) in enumerate(zip(images, captions, colors, strict=True)):
        row, col = divmod(index, columns)
        tile = Image.fromarray(image[0].cpu().numpy().astype(np.uint8)).resize((TILE, TILE))
        grid.paste(tile.convert("RGB"), (col * TILE, row * (TILE + CAPTION)))
        draw.text((col * TILE + 2, row * (TILE + CAPTION) + TILE), caption, fill=COLORS[color])
    return np.asarray(grid)


class PredictionImages(Callback):
    def __init__(self, samples: int = 32, worst: int = 32):
        self.samples = samples
        self.worst = worst

    def setup(self, trainer, pl_module, stage):
        self.classes = trainer.datamodule.source.classes
        # Rank 0's share only: the other ranks draw nothing, so nothing to sync with them.
        self.confusion = MulticlassConfusionMatrix(
            len(self.classes),
            sync_on_compute=False,
            validate_args=False,  # no per-batch reads
        )

    def on_validation_epoch_end(self, trainer, pl_module):
        pictures = Pictures(trainer)
        if not pictures or trainer.sanity_checking:
            return
        images, labels = trainer.datamodule.val_set[: self.samples]
        with torch.no_grad():
            predicted = pl_module(images.to(pl_module.device)).argmax(1).cpu()
        captions = [self.classes[p] for p in predicted]
        colors = ["right" if p == t else "wrong" for p, t in zip(predicted, labels, strict=True)]
        grid = image_grid(images, captions, colors)
        pictures.image("val/predictions", grid, trainer.global_step)

    def on_test_epoch_start(self, trainer, pl_module):
        self.confusion.reset()
        self.confusion.to(pl_module.device)
        # The worst mistakes so far, kept on the device: nothing per batch waits for the GPU.
        self.worst_loss = self.worst_images = self.worst_true = self.worst_guess = None

    def on_test_batch_end(self, trainer, pl_module, outputs, batch, batch_idx, dataloader_idx=0):
        if not trainer.is_global_zero:
            return
        images, labels = batch
        logits = outputs  # LeNetModule.test_step returns its logits
        predicted = logits.argmax(1)
        self.confusion.update(predicted, labels)
        losses = F.cross_entropy(logits.float(), labels, reduction="none")
        losses = losses.masked_fill(predicted == labels, float("-inf"))  # mistakes only
        if self.worst_loss is not None:  # this batch's candidates against the kept ones
            losses = torch.cat([self.worst_loss, losses])
            images = torch.cat([self.worst_images, images])
            labels = torch.cat([self.worst_true, labels])
            predicted = torch.cat([self.worst_guess, predicted])
        keep = losses.topk(min(self.worst, len(losses))).indices
        self.worst_loss, self.worst_images = losses[keep], images[keep]
        self.worst_true, self.worst_guess = labels[keep], predicted[keep]

    def on_test_epoch_end(self, trainer, pl_module):
        if not trainer.is_global_zero:
            return
        pictures, step = Pictures(trainer), trainer.global_step
        matrix = self.confusion.compute()
        per_class = matrix.diag() / matrix.sum(1).clamp(min=1)
        names = [f"test/acc_class/{name}" for name in self.classes]
        for logger in trainer.loggers:  # metrics: to every logger, not only those of pictures
            logger.log_metrics(dict(zip(names, per_class.tolist(), strict=True)), step)
        if not pictures:
            return
        figure, _ = self.confusion.plot(labels=list(self.classes))  # matplotlib, once per test
        figure.set_size_inches(7, 7)
        pictures.figure("test/confusion_matrix", figure, step)
        wrong = (self.worst_loss > float("-inf")).cpu() if self.worst_loss is not None else []
        if any(wrong):  # the one wait for the device, once per test
            images = self.worst_images.cpu()[wrong]
            pairs = zip(self.worst_true.cpu()[wrong], self.worst_guess.cpu()[wrong], strict=True)
            captions = [f"{self.classes[true]}->{self.classes[guess]}" for true, guess in pairs]
            grid = image_grid(images, captions, ["wrong"] * len(images))
            pictures.image("test/worst_mistakes", grid, step)
