"""FeatureMaps: inside the network, as pictures (TensorBoard's IMAGES tab, MLflow, W&B:
callbacks/pictures.py), as it learns.

After the first validation, every ``every_n_epochs`` epochs and after the last: C1's 6 and
C3's 16x6 kernels (``kernels/c1``, ``kernels/c3``) and, for a few fixed validation digits, what
every layer makes of them, in the paper's names (``feature_maps/<digit>/<layer>``: the input as
the network sees it, C1 6@28x28, S2, C3 16@10x10, S4, C5 120, F6 84 as a 7x12 bitmap). The 1998
network's RBF prototypes once (``rbf_prototypes``: they are fixed). The pictures are those of
the demo page (models/inside.py); two digits' forward pass every few epochs costs milliseconds.
"""

from lightning import Callback

from lenetlab.callbacks.pictures import Pictures
from lenetlab.models import inside


class FeatureMaps(Callback):
    def __init__(self, every_n_epochs: int = 5, samples: int = 2):
        self.every_n_epochs = every_n_epochs
        self.samples = samples
        self.prototypes_drawn = False

    def due(self, trainer) -> bool:
        epoch = trainer.current_epoch + 1
        return epoch == 1 or epoch % self.every_n_epochs == 0 or epoch == trainer.max_epochs

    def on_validation_epoch_end(self, trainer, pl_module):
        pictures = Pictures(trainer)
        if not pictures or trainer.sanity_checking or not self.due(trainer):
            return
        step = trainer.global_step
        for name, weight in inside.kernels(pl_module).items():
            pictures.image(f"kernels/{name}", inside.kernels_picture(weight), step)
        if self.samples:
            images, _ = trainer.datamodule.val_set[: self.samples]
            for layer, outputs in inside.layer_outputs(pl_module, images).items():
                for digit, maps in enumerate(outputs):
                    picture = inside.maps_picture(maps)
                    pictures.image(f"feature_maps/{digit}/{layer}", picture, step)
        prototypes = inside.prototypes_picture(pl_module)
        if prototypes is not None and not self.prototypes_drawn:
            pictures.image("rbf_prototypes", prototypes, step)
            self.prototypes_drawn = True
