"""The datasets (conf/data/*.yaml): their files on disk, DigitsDataModule, the distortions of
data.augment, and the preparation of a user's own photo (src/predict.py)."""
