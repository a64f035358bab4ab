"""bench/speed.py compares lenetlab's data path with the tutorial pipeline; the speed-up must not
come from feeding the model different inputs."""

from pathlib import Path

import torch
from hydra.utils import instantiate

from speed import baseline_dataset


def test_fast_path_gives_the_model_the_same_inputs_as_the_tutorial_pipeline(train_config):
    cfg = train_config()  # the default recipe: data=mnist, model=lenet_tanh
    datamodule = instantiate(cfg.data)
    model = instantiate(cfg.model)
    images, labels = datamodule.load_split(train=True)  # uint8, what the fast path serves
    tutorial = baseline_dataset(Path(cfg.data.data_dir))  # float, normalised per sample
    assert len(tutorial) == len(images)
    for index in range(len(tutorial)):
        pixels, label = tutorial[index]
        assert label == labels[index]
        normalised = model.normalize(images[index : index + 1])[0]
        torch.testing.assert_close(normalised, pixels, atol=1e-5, rtol=0)
