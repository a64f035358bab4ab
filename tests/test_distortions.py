import pytest
import torch
import torch.nn.functional as F
from lightning import Trainer

from lenetlab.data.datamodule import DigitsDataModule
from lenetlab.data.distortions import Distortions, affine_theta
from lenetlab.models.module import LeNetModule

NONE = dict(rotate_deg=0, scale=0, shear_deg=0, translate_px=0)


def blob() -> torch.Tensor:
    image = torch.zeros(1, 1, 32, 32)
    image[0, 0, 8:14, 10:15] = 255
    return image


def warp(image, angle=0.0, shear=0.0, zoom=(1.0, 1.0), shift=(0.0, 0.0)):
    theta = affine_theta(
        torch.tensor([angle]),
        torch.tensor([shear]),
        torch.tensor([zoom]),
        torch.tensor([shift]),
        height=32,
        width=32,
    )
    grid = F.affine_grid(theta, list(image.shape), align_corners=False)
    return F.grid_sample(image, grid, align_corners=False)


def test_affine_maps_move_pixels_as_named():
    image = blob()
    torch.testing.assert_close(warp(image), image, atol=1e-3, rtol=0)
    torch.testing.assert_close(warp(image, shift=(3, 0)), image.roll(3, dims=3), atol=1e-3, rtol=0)
    torch.testing.assert_close(
        warp(image, shift=(0, -2)), image.roll(-2, dims=2), atol=1e-3, rtol=0
    )
    rotated = torch.rot90(image, -1, dims=(2, 3))  # +90 degrees: clockwise on screen
    torch.testing.assert_close(warp(image, angle=90.0), rotated, atol=1e-3, rtol=0)
    assert (warp(image, zoom=(1.5, 1.5)) > 128).sum() > 1.5 * (image > 128).sum()


def test_zero_ranges_leave_images_unchanged():
    images = torch.randint(0, 256, (4, 1, 32, 32), dtype=torch.uint8)
    out = Distortions(**NONE)(images)
    assert out.dtype == torch.float32 and out.shape == images.shape
    torch.testing.assert_close(out, images.float(), atol=1e-3, rtol=0)


@pytest.mark.parametrize("elastic", [False, True])
def test_each_image_gets_its_own_distortion(elastic):
    images = blob().repeat(8, 1, 1, 1)
    out = Distortions(elastic=elastic)(images)
    assert not torch.allclose(out[0], images[0])
    differences = [(out[0] - out[i]).abs().sum() for i in range(1, 8)]
    assert all(d > 0 for d in differences)
    assert out.min() >= 0 and out.max() <= 255 + 1e-3  # bilinear: no new intensities


def test_elastic_adds_a_smooth_deformation():
    images = blob().repeat(4, 1, 1, 1)
    torch.manual_seed(1)
    elastic = Distortions(**NONE, elastic=True)(images)
    assert not torch.allclose(elastic, images, atol=1.0)
    assert (elastic > 0).sum() > 0.5 * (images > 0).sum()  # deformed, not destroyed


class RecordingModule(LeNetModule):
    """LeNetModule that keeps the images of every batch it sees, per stage."""

    def __init__(self):
        super().__init__(optimizer={"_target_": "torch.optim.SGD", "lr": 0.01})
        self.seen = {"train": [], "val": [], "test": []}

    def training_step(self, batch, batch_idx):
        self.seen["train"].append(batch[0].clone())
        return super().training_step(batch, batch_idx)

    def validation_step(self, batch, batch_idx):
        self.seen["val"].append(batch[0].clone())
        return super().validation_step(batch, batch_idx)

    def test_step(self, batch, batch_idx):
        self.seen["test"].append(batch[0].clone())
        return super().test_step(batch, batch_idx)


@pytest.mark.parametrize("augment", [None, "distortions"])
def test_distortions_change_training_batches_only(data_dir, augment):
    datamodule = DigitsDataModule(
        data_dir=str(data_dir),
        download=False,
        augment=augment,
        batch_size=600,
        eval_batch_size=1000,
        val_fraction=0.1,
    )
    model = RecordingModule()
    trainer = Trainer(
        max_epochs=1,
        accelerator="cpu",
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        num_sanity_val_steps=0,
    )
    trainer.fit(model, datamodule=datamodule)
    trainer.test(model, datamodule=datamodule, verbose=False)

    def as_set(batches):
        return {bytes(image.to(torch.uint8).numpy()) for image in torch.cat(batches)}

    stored_train = {bytes(image.numpy()) for image in datamodule.train_set.images}
    assert as_set(model.seen["val"]) == {bytes(i.numpy()) for i in datamodule.val_set.images}
    assert as_set(model.seen["test"]) == {bytes(i.numpy()) for i in datamodule.test_set.images}
    assert model.seen["val"][0].dtype == model.seen["test"][0].dtype == torch.uint8
    if augment is None:
        assert as_set(model.seen["train"]) == stored_train
    else:
        assert model.seen["train"][0].dtype == torch.float32
        assert len(as_set(model.seen["train"]) & stored_train) == 0


def test_unknown_augment_names_the_choices(data_dir):
    with pytest.raises(ValueError, match="distortions, elastic"):
        DigitsDataModule(data_dir=str(data_dir), augment="mixup")
