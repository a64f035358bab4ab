"""DigitsDataModule: MNIST, Fashion-MNIST or USPS as in-memory uint8 tensors served by batch.

torchvision's dataset classes read the files; each split is then held as one (N, 1, 32, 32) uint8
tensor (MNIST and Fashion-MNIST padded 28->32, USPS resized 16->32, once, at setup). A batch is
one tensor gather: no PIL images, no per-sample transforms. Distortions (``data.augment``) run on
whole training batches once they are on the training device; normalisation happens inside the
model (``LeNetModule.normalize``).
"""

import contextlib
import io
from pathlib import Path

import torch
from filelock import FileLock
from lightning import LightningDataModule
from torch.utils.data import DataLoader, Dataset

from lenetlab.choices import AUGMENTATIONS
from lenetlab.data.distortions import Distortions
from lenetlab.data.sources import (
    SOURCES,
    DatasetCorruptError,
    DatasetNotFoundError,
    file_problem,
    to_32x32,
)
from lenetlab.errors import UsageError


class TensorImages(Dataset):
    """Images and labels held as tensors; the DataLoader fetches a whole batch in one gather."""

    def __init__(self, images: torch.Tensor, labels: torch.Tensor):
        self.images, self.labels = images, labels

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index: int):
        return self.images[index], self.labels[index]

    def __getitems__(self, indices: list[int]):
        index = torch.as_tensor(indices)
        if self.labels.is_cuda:  # from pinned memory, queued: the host does not wait for the GPU
            index = index.pin_memory().to(self.labels.device, non_blocking=True)
        # index_select copies whole rows: 8x faster than advanced indexing (images[index]) on a
        # CPU, which goes byte by byte.
        return self.images.index_select(0, index), self.labels.index_select(0, index)

    def to(self, device: torch.device) -> "TensorImages":
        return TensorImages(self.images.to(device), self.labels.to(device))


def keep_batch(batch):
    """collate_fn for TensorImages: ``__getitems__`` already returns a collated batch."""
    return batch


class DigitsDataModule(LightningDataModule):
    """One of ``SOURCES``; the official test split is the test set, validation is a seeded slice
    of the training split.

    ``mean`` and ``std`` are the training pixels' statistics on a 0-1 scale; the model normalises
    its inputs with them (``model.input_mean: ${data.mean}``) and they are saved in checkpoints.
    """

    def __init__(
        self,
        dataset: str = "mnist",
        data_dir: str = "data",
        download: bool = True,
        batch_size: int = 128,
        eval_batch_size: int = 1000,
        val_fraction: float = 0.1,
        split_seed: int = 0,
        mean: float = 0.5,
        std: float = 0.5,
        augment: str | None = None,
        distortions: dict | None = None,
    ):
        super().__init__()
        if dataset not in SOURCES:
            raise ValueError(f"dataset={dataset!r}: choose one of {sorted(SOURCES)}")
        if augment not in AUGMENTATIONS:
            choices = ", ".join(str(a) for a in AUGMENTATIONS)
            raise ValueError(f"data.augment={augment!r}: choose one of {choices}")
        self.save_hyperparameters()
        self.source = SOURCES[dataset]
        self.distort = None
        if augment is not None:
            self.distort = Distortions(**(distortions or {}), elastic=augment == "elastic")
        self.data_dir = Path(data_dir).expanduser().resolve()
        self.train_set = self.val_set = self.test_set = None

    def missing_files(self) -> list[Path]:
        folder = self.data_dir / self.source.folder
        return [folder / name for name in self.source.files if not (folder / name).is_file()]

    def prepare_data(self):
        """Download when files are missing (runs on one process per node)."""
        if not self.missing_files():
            damaged = self.damaged_files()  # truncated or garbled: say which, before decoding
            if damaged:
                raise DatasetCorruptError(self._corrupt_message(damaged))
            return
        reason = "data.download=false"
        if self.hparams.download:
            # torchvision prints a line per failed mirror; keep only the final error.
            # Every SLURM task, and every parallel job, runs this: one downloads at a time, and
            # the others find the files there once they get the lock.
            self.data_dir.mkdir(parents=True, exist_ok=True)
            lock = FileLock(self.data_dir / f".{self.source.folder}.download.lock")
            try:
                with lock, contextlib.redirect_stdout(io.StringIO()):
                    for train in (True, False):
                        self.source.reader(self.data_dir, train=train, download=True)
                return
            except Exception as error:  # URLError, HTTPError, timeouts, checksum failures
                reason = "download failed: " + str(error).strip().splitlines()[-1]
        raise DatasetNotFoundError(self._not_found_message(reason))

    def _not_found_message(self, reason: str) -> str:
        folder = (self.data_dir / self.source.folder).resolve()
        missing = ", ".join(path.name for path in self.missing_files())
        return (
            f"{self.source.reader.__name__} is not in {folder}: missing {missing} ({reason}). "
            f"Put the unpacked files there (from {self.source.url}), "
            f"or set data.data_dir to a folder that holds {self.source.folder}/."
        )

    def load_split(self, train: bool) -> tuple[torch.Tensor, torch.Tensor]:
        """Decode one official split into (N, 1, 32, 32) uint8 images and int64 labels."""
        if self.missing_files():
            raise DatasetNotFoundError(self._not_found_message("run prepare_data to download"))
        try:
            split = self.source.reader(self.data_dir, train=train, download=False)
        except (RuntimeError, ValueError, OSError, EOFError, IndexError) as error:
            damaged = self.damaged_files() or [f"{self.source.folder}: {error}"]
            raise DatasetCorruptError(self._corrupt_message(damaged)) from error
        images = torch.as_tensor(split.data, dtype=torch.uint8)
        labels = torch.as_tensor(split.targets, dtype=torch.int64)
        return to_32x32(images), labels

    def damaged_files(self) -> list[str]:
        """'<file>: <what is wrong>' for each file that cannot be read whole."""
        folder = self.data_dir / self.source.folder
        damaged = []
        for name in self.source.files:
            problem = file_problem(folder / name)
            if problem:
                damaged.append(f"{folder / name}: {problem}")
        return damaged

    def _corrupt_message(self, damaged: list[str]) -> str:
        return (
            f"damaged {self.source.reader.__name__} files ({'; '.join(damaged)}). Delete them and "
            "run again with data.download=true, or copy intact ones there."
        )

    def setup(self, stage: str | None = None):
        if self.test_set is not None:
            return
        images, labels = self.load_split(train=True)
        generator = torch.Generator().manual_seed(self.hparams.split_seed)
        order = torch.randperm(len(labels), generator=generator)
        n_val = round(len(labels) * self.hparams.val_fraction)
        val_index, train_index = order[:n_val], order[n_val:]
        # On a GPU the whole dataset lives there (MNIST: 70k x 1 KiB): batches are gathered on
        # the device and no step waits for a host-to-device copy.
        device = self.trainer.strategy.root_device if self.trainer else torch.device("cpu")
        self.train_set = TensorImages(images[train_index], labels[train_index]).to(device)
        self.val_set = TensorImages(images[val_index], labels[val_index]).to(device)
        self.test_set = TensorImages(*self.load_split(train=False)).to(device)

    def _loader(self, dataset: TensorImages, batch_size: int, shuffle: bool) -> DataLoader:
        # In-process loading: a batch is one gather, worker processes would only add IPC.
        return DataLoader(dataset, batch_size=batch_size, shuffle=shuffle, collate_fn=keep_batch)

    def train_dataloader(self):
        return self._loader(self.train_set, self.per_process_batch_size(), shuffle=True)

    def per_process_batch_size(self) -> int:
        """``batch_size`` is the global batch of one optimiser step: under DDP each of the
        world_size processes loads an equal share, so a recipe means the same on any number of
        devices (its learning rate included)."""
        world_size = self.trainer.world_size if self.trainer is not None else 1
        if self.hparams.batch_size % world_size:
            raise UsageError(
                f"data.batch_size={self.hparams.batch_size} does not split evenly over "
                f"{world_size} processes: choose a multiple of {world_size}"
            )
        return self.hparams.batch_size // world_size

    def val_dataloader(self):
        return self._loader(self.val_set, self.hparams.eval_batch_size, shuffle=False)

    def test_dataloader(self):
        return self._loader(self.test_set, self.hparams.eval_batch_size, shuffle=False)

    def on_after_batch_transfer(self, batch, dataloader_idx: int):
        """Distort training batches on the device they train on; never validation or test."""
        # Lightning also passes the model summary's example input (a bare tensor) through here.
        training = self.trainer is not None and self.trainer.training
        if self.distort is not None and training and isinstance(batch, list | tuple):
            images, labels = batch
            return self.distort(images), labels
        return batch
