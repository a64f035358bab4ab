"""LeNet-5 experiments with PyTorch Lightning and Hydra."""
