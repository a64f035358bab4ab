"""Building and running a run's Trainer: the trainer with what every run keeps
(checkpointing.py), its devices (devices.py) and, for trainer=ddp, its other ranks (ranks.py)."""
