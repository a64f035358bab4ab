import dataclasses
import multiprocessing
import re
import time
from urllib.error import URLError

import numpy as np
import pytest
import torch
from lightning.pytorch.utilities.data import _update_dataloader
from torch.utils.data import DistributedSampler
from torchvision import datasets

from fixtures import MNIST_SIZES, USPS_SIZES
from lenetlab.data.datamodule import DigitsDataModule
from lenetlab.data.sources import SOURCES, DatasetNotFoundError


def make_datamodule(data_dir, dataset="mnist", **kwargs):
    datamodule = DigitsDataModule(dataset=dataset, data_dir=str(data_dir), download=False, **kwargs)
    datamodule.prepare_data()
    datamodule.setup("fit")
    return datamodule


@pytest.mark.parametrize(
    ("dataset", "n_train", "n_test"),
    [
        ("mnist", MNIST_SIZES["train"], MNIST_SIZES["t10k"]),
        ("fashion_mnist", MNIST_SIZES["train"], MNIST_SIZES["t10k"]),
        ("usps", USPS_SIZES["usps.bz2"], USPS_SIZES["usps.t.bz2"]),
    ],
)
def test_splits_are_32x32_uint8_with_official_test_set(data_dir, dataset, n_train, n_test):
    datamodule = make_datamodule(data_dir, dataset, val_fraction=0.25)
    assert len(datamodule.train_set) + len(datamodule.val_set) == n_train
    assert len(datamodule.val_set) == round(n_train * 0.25)
    assert len(datamodule.test_set) == n_test
    images, labels = next(iter(datamodule.train_dataloader()))
    assert images.shape == (128, 1, 32, 32) and images.dtype == torch.uint8
    assert labels.dtype == torch.int64 and set(labels.tolist()) <= set(range(10))


def test_mnist_is_padded_with_background_and_pixels_unchanged(data_dir):
    datamodule = make_datamodule(data_dir, val_fraction=0.0)
    original = datasets.MNIST(data_dir, train=False)
    images = datamodule.test_set.images
    assert torch.equal(images[:, 0, 2:30, 2:30], original.data)
    border = images.clone()
    border[:, :, 2:30, 2:30] = 0
    assert border.sum() == 0
    assert torch.equal(datamodule.test_set.labels, original.targets)


def test_usps_is_upsampled_from_16_to_32(data_dir):
    datamodule = make_datamodule(data_dir, "usps", val_fraction=0.0)
    original = torch.as_tensor(datasets.USPS(data_dir, train=False).data)
    downsampled = datamodule.test_set.images.float().reshape(-1, 16, 2, 16, 2).mean(dim=(2, 4))
    assert (downsampled - original.float()).abs().mean() < 8  # same picture, at twice the size
    assert torch.equal(
        datamodule.test_set.labels, torch.as_tensor(datasets.USPS(data_dir, False).targets)
    )


def test_validation_is_a_seeded_slice_of_the_training_split(data_dir):
    first = make_datamodule(data_dir, split_seed=1)
    again = make_datamodule(data_dir, split_seed=1)
    other = make_datamodule(data_dir, split_seed=2)
    assert torch.equal(first.val_set.images, again.val_set.images)
    assert not torch.equal(first.val_set.images, other.val_set.images)
    train_pixels = {bytes(image.numpy()) for image in first.train_set.images}
    assert not any(bytes(image.numpy()) in train_pixels for image in first.val_set.images)


def test_training_batches_reshuffle_every_epoch(data_dir):
    loader = make_datamodule(data_dir).train_dataloader()
    first = torch.cat([labels for _, labels in loader])
    second = torch.cat([labels for _, labels in loader])
    assert not torch.equal(first, second)
    assert torch.equal(first.sort().values, second.sort().values)  # a permutation of the same set


def test_ddp_sampler_gives_each_rank_a_disjoint_shard(data_dir):
    """Under DDP Lightning swaps in a DistributedSampler; batch gathers must honour it."""
    datamodule = make_datamodule(data_dir, val_fraction=0.0, batch_size=50)
    seen = []
    for rank in range(2):
        sampler = DistributedSampler(datamodule.train_set, num_replicas=2, rank=rank, seed=3)
        loader = _update_dataloader(datamodule.train_dataloader(), sampler=sampler)
        images = torch.cat([batch for batch, _ in loader])
        seen.append({bytes(image.numpy()) for image in images})
        assert len(images) == len(datamodule.train_set) // 2
    assert not seen[0] & seen[1]
    assert len(seen[0] | seen[1]) == len({bytes(i.numpy()) for i in datamodule.train_set.images})


@pytest.mark.parametrize("dataset", sorted(SOURCES))
def test_missing_files_error_names_folder_and_files(tmp_path, dataset):
    datamodule = DigitsDataModule(dataset=dataset, data_dir=str(tmp_path), download=False)
    with pytest.raises(DatasetNotFoundError) as error:
        datamodule.prepare_data()
    message = str(error.value)
    assert "\n" not in message
    assert str((tmp_path / SOURCES[dataset].folder).resolve()) in message
    for name in SOURCES[dataset].files:
        assert name in message
    assert "data.data_dir" in message
    assert list(tmp_path.iterdir()) == []  # nothing created


def test_failed_download_reports_reason_not_traceback(tmp_path, monkeypatch):
    def offline(*args, **kwargs):
        print("Failed to download (trying next):")  # torchvision's own chatter, swallowed
        raise RuntimeError("Error downloading train-images-idx3-ubyte.gz:\n<urlopen error offline>")

    monkeypatch.setattr(datasets.MNIST, "download", offline)
    datamodule = DigitsDataModule(data_dir=str(tmp_path), download=True)
    with pytest.raises(
        DatasetNotFoundError, match=re.escape("download failed: <urlopen error offline>")
    ):
        datamodule.prepare_data()


def test_download_is_attempted_only_when_files_are_missing(data_dir, monkeypatch):
    def must_not_download(*args, **kwargs):
        raise URLError("tried to download")

    monkeypatch.setattr(datasets.MNIST, "download", must_not_download)
    DigitsDataModule(data_dir=str(data_dir), download=True).prepare_data()


def test_fixture_images_are_learnable_classes(data_dir):
    """Guard on the fixture itself: each class lights a different region."""
    images = make_datamodule(data_dir, val_fraction=0.0).train_set
    means = torch.stack([images.images[images.labels == k].float().mean(0) for k in range(10)])
    brightest = means.flatten(1).argmax(1)
    assert len(set(brightest.tolist())) == 10
    assert np.isfinite(means.numpy()).all()


def test_tasks_that_download_at_once_take_turns(tmp_path):
    """Every SLURM task (every parallel job) runs prepare_data: with data.download=true they
    must not download into the same folder at the same time."""
    log = tmp_path / "downloads.log"

    def fake_mnist(root, train, download):  # stands in for torchvision's MNIST(download=True)
        with open(log, "a") as events:
            events.write("start\n")
        time.sleep(0.2)
        with open(log, "a") as events:
            events.write("end\n")

    source = dataclasses.replace(SOURCES["mnist"], reader=fake_mnist)

    def task():
        datamodule = DigitsDataModule(data_dir=str(tmp_path / "data"), download=True)
        datamodule.source = source
        datamodule.prepare_data()

    fork = multiprocessing.get_context("fork")
    tasks = [fork.Process(target=task) for _ in range(3)]
    for process in tasks:
        process.start()
    for process in tasks:
        process.join()
    assert [p.exitcode for p in tasks] == [0, 0, 0]
    # 3 tasks x (train, test split): each download ends before the next one starts.
    assert log.read_text().split() == ["start", "end"] * 6
