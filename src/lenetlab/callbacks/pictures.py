"""Where the callbacks' pictures go: to every logger of the run that holds pictures -
TensorBoard's IMAGES tab, and the trackers' (MLflow's, W&B's) images: a logger with a
``log_picture(tag, picture, step)``, as records/loggers.py's Tracker has - from rank 0 only: the
other ranks draw nothing, so there is nothing to sync with them."""

import numpy as np
from lightning.pytorch.loggers import TensorBoardLogger
from matplotlib import pyplot as plt


class Pictures:
    def __init__(self, trainer) -> None:
        loggers = trainer.loggers if trainer.is_global_zero else []
        self.writers = [lg.experiment for lg in loggers if isinstance(lg, TensorBoardLogger)]
        self.trackers = [lg for lg in loggers if hasattr(lg, "log_picture")]

    def __bool__(self) -> bool:
        return bool(self.writers or self.trackers)

    def image(self, tag: str, picture: np.ndarray, step: int) -> None:
        """A (H, W) grey or (H, W, 3) colour uint8 picture."""
        formats = "HWC" if picture.ndim == 3 else "HW"
        for writer in self.writers:
            writer.add_image(tag, picture, step, dataformats=formats)
        for tracker in self.trackers:
            tracker.log_picture(tag, picture, step)

    def figure(self, tag: str, figure: plt.Figure, step: int) -> None:
        """A matplotlib figure, drawn once for every logger, then closed."""
        figure.canvas.draw()
        picture = np.asarray(figure.canvas.buffer_rgba())[..., :3].copy()
        plt.close(figure)
        self.image(tag, picture, step)
