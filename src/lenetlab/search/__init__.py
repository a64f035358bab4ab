"""conf/hparams_search: hyperparameter searches run by Hydra's sweeper API."""
