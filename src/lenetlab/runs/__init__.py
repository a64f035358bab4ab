"""What wraps a run (conf/hydra, conf/paths, conf/trainer's plugins, train.yaml's top-level keys):
the launch of a command, run folders, resuming, config rules, the Trainer, checkpoint and result
files, and the sweep summary."""
