"""What runs leave behind and how it is read back: atomic files, metrics.json and TensorBoard's
HPARAMS, the loggers and trackers (CSV, MLflow, W&B) a resumed run goes on in, a sweep's summary,
and checkpoints opened for eval, predict and export (loading.py)."""
