"""One module per command: what src/<command>.py runs once cli/launch.py has checked its config
(train, evaluate, predict, export, summarize). Each has ``main(cfg)``; these are the first
modules of a command to import torch and Lightning."""
