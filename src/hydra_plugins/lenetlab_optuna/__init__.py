"""Hydra instantiates sweepers only from the ``hydra_plugins`` package, and imports every module
in it at each start: this names lenetlab's Optuna sweeper here and imports Optuna only when a
search runs (lenetlab.search.optuna_sweeper holds the code)."""

from hydra.plugins.sweeper import Sweeper


class OptunaSweeper(Sweeper):
    def __init__(self, **config):
        from lenetlab.search.optuna_sweeper import OptunaSearch

        self.search = OptunaSearch(**config)

    def setup(self, *, hydra_context, task_function, config) -> None:
        self.search.setup(hydra_context=hydra_context, task_function=task_function, config=config)

    def sweep(self, arguments: list[str]):
        return self.search.sweep(arguments)
